#pragma once
// Reading the audit log back: listing its records and checking its hash chain.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace keyfence::engine::audit {

/// One line of the log; `record` is null when the line is not a JSON object.
struct LogLine {
    int line = 0;  ///< 1-based
    nlohmann::json record;
};

/// Every line of the log. Errors: Io (missing or unreadable).
base::Result<std::vector<LogLine>> read_log(const std::string& path);

/// The first place where the chain breaks.
struct ChainProblem {
    enum class Kind { Altered, Removed, Inserted, Reordered, Damaged };
    Kind kind = Kind::Altered;
    int line = 0;  ///< the line of the record named
    std::string message;
};
std::string_view kind_name(ChainProblem::Kind kind);  ///< "altered", "removed", ...

struct VerifyReport {
    std::size_t records = 0;
    std::string head;  ///< hash of the last record (compare it with a copy kept elsewhere)
    std::optional<ChainProblem> problem;
};

/// Checks every record's own hash, its sequence number and its link to the record before it,
/// and names the first record altered, removed, inserted or reordered. Errors: Io.
base::Result<VerifyReport> verify_log(const std::string& path);
/// The same over lines already read.
VerifyReport verify_lines(const std::vector<LogLine>& lines);

}  // namespace keyfence::engine::audit
