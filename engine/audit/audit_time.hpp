#pragma once
// Time stamps of audit records: UTC, RFC 3339 with milliseconds and a fixed width
// ("2024-05-01T09:30:00.123Z"), so that they sort as strings.

#include <chrono>
#include <string>

#include "base/result.hpp"

namespace keyfence::engine::audit {

/// `when` as a record's time stamp.
std::string format_time(std::chrono::system_clock::time_point when);
std::string utc_now();

/// The time stamp from which `keyfence audit show --since` lists records: an absolute UTC time
/// ("2024-05-01", "2024-05-01T09:30", "2024-05-01T09:30:15", optionally ending in "Z") or a
/// time before `now` ("90s", "15m", "2h", "7d"). Errors: Usage.
base::Result<std::string> parse_since(const std::string& text,
                                      std::chrono::system_clock::time_point now);

}  // namespace keyfence::engine::audit
