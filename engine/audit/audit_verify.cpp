#include "engine/audit/audit_verify.hpp"

#include <fstream>
#include <map>

#include "engine/audit/audit_log.hpp"

namespace keyfence::engine::audit {

namespace {
using Kind = ChainProblem::Kind;

bool well_formed(const nlohmann::json& r) {
    return r.is_object() && r.contains("seq") && r["seq"].is_number_unsigned() &&
           r.contains("prev") && r["prev"].is_string() && r.contains("hash") &&
           r["hash"].is_string();
}
std::uint64_t seq_of(const nlohmann::json& r) {
    return r["seq"].get<std::uint64_t>();
}
std::string prev_of(const nlohmann::json& r) {
    return r["prev"].get<std::string>();
}
std::string hash_of(const nlohmann::json& r) {
    return r["hash"].get<std::string>();
}

class Verifier {
  public:
    explicit Verifier(const std::vector<LogLine>& lines) : m_lines(lines) {
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (well_formed(lines[i].record)) m_lines_of_seq[seq_of(lines[i].record)].push_back(i);
        }
    }

    VerifyReport run() {
        VerifyReport report;
        std::uint64_t expected = 1;
        std::string prev = genesis_hash();
        for (std::size_t i = 0; i < m_lines.size(); ++i) {
            if (auto problem = check(i, expected, prev)) {
                report.problem = std::move(problem);
                return report;
            }
            ++expected;
            prev = hash_of(m_lines[i].record);
            ++report.records;
            report.head = prev;
        }
        return report;
    }

  private:
    std::string at(std::size_t i) const {
        return "line " + std::to_string(m_lines[i].line) + " (record " +
               std::to_string(seq_of(m_lines[i].record)) + ")";
    }

    std::optional<ChainProblem> check(std::size_t i, std::uint64_t expected,
                                      const std::string& prev) const {
        const auto& r = m_lines[i].record;
        const int line = m_lines[i].line;
        if (!well_formed(r)) {
            return ChainProblem{Kind::Damaged, line,
                                "line " + std::to_string(line) +
                                    " is not an audit record: it was altered or inserted"};
        }
        if (record_hash(r) != hash_of(r)) {
            return ChainProblem{Kind::Altered, line,
                                at(i) + " was altered: its contents no longer match its hash"};
        }
        const std::uint64_t seq = seq_of(r);
        if (seq == expected && prev_of(r) == prev) return std::nullopt;
        if (seq == expected) return wrong_link(i);
        if (seq < expected) return duplicate(i);
        return gap(i, expected, prev);
    }

    // The record's own hash is right but it does not link to the record before it.
    std::optional<ChainProblem> wrong_link(std::size_t i) const {
        const auto& same = m_lines_of_seq.at(seq_of(m_lines[i].record));
        if (same.size() > 1) {
            return ChainProblem{Kind::Inserted, m_lines[i].line,
                                at(i) +
                                    " was inserted: it does not link to the record before it, "
                                    "and its sequence number recurs"};
        }
        return ChainProblem{Kind::Altered, m_lines[i].line,
                            at(i) +
                                " does not link to the record before it: it was replaced or "
                                "the log was rewritten"};
    }

    // A sequence number seen before: one of the two records was inserted.
    std::optional<ChainProblem> duplicate(std::size_t i) const {
        const std::size_t first = m_lines_of_seq.at(seq_of(m_lines[i].record)).front();
        std::size_t inserted = i;
        // The chain went on from `first`, unless `i` follows it directly and is the one the next
        // record links to (a forged record placed before the genuine one).
        if (first + 1 == i && i + 1 < m_lines.size() && well_formed(m_lines[i + 1].record) &&
            prev_of(m_lines[i + 1].record) == hash_of(m_lines[i].record)) {
            inserted = first;
        }
        return ChainProblem{Kind::Inserted, m_lines[inserted].line,
                            at(inserted) + " was inserted: record " +
                                std::to_string(seq_of(m_lines[i].record)) +
                                " appears twice (lines " + std::to_string(m_lines[first].line) +
                                " and " + std::to_string(m_lines[i].line) + ")"};
    }

    // Whether the record at `i` is part of the chain somewhere: another record links to it, or
    // it links to a record that comes after it. Genuine records out of place are reordered; a
    // record nothing links to is foreign.
    bool chained_elsewhere(std::size_t i) const {
        const std::string hash = hash_of(m_lines[i].record);
        const std::string prev = prev_of(m_lines[i].record);
        for (std::size_t j = 0; j < m_lines.size(); ++j) {
            if (j == i || !well_formed(m_lines[j].record)) continue;
            if (prev_of(m_lines[j].record) == hash) return true;
            if (j > i && hash_of(m_lines[j].record) == prev) return true;
        }
        return false;
    }

    // A sequence number further on than expected: inserted, reordered or removed records.
    std::optional<ChainProblem> gap(std::size_t i, std::uint64_t expected,
                                    const std::string& prev) const {
        const std::string expected_text = std::to_string(expected);
        const auto later = m_lines_of_seq.find(expected);
        const bool expected_later = later != m_lines_of_seq.end() && later->second.back() > i;
        if (expected_later && chained_elsewhere(i)) {
            return ChainProblem{Kind::Reordered, m_lines[i].line,
                                at(i) + " is out of order: record " + expected_text +
                                    " should come here but is at line " +
                                    std::to_string(m_lines[later->second.back()].line)};
        }
        if (i + 1 < m_lines.size() && well_formed(m_lines[i + 1].record) &&
            seq_of(m_lines[i + 1].record) == expected && prev_of(m_lines[i + 1].record) == prev) {
            return ChainProblem{Kind::Inserted, m_lines[i].line,
                                at(i) + " was inserted: the chain continues around it"};
        }
        if (expected_later) {
            return ChainProblem{Kind::Reordered, m_lines[i].line,
                                at(i) + " is out of order: record " + expected_text +
                                    " should come here but is at line " +
                                    std::to_string(m_lines[later->second.back()].line)};
        }
        const std::uint64_t seq = seq_of(m_lines[i].record);
        const std::string missing = seq == expected + 1 ? "record " + expected_text + " is"
                                                        : "records " + expected_text + " to " +
                                                              std::to_string(seq - 1) + " are";
        return ChainProblem{Kind::Removed, m_lines[i].line,
                            missing + " missing before line " + std::to_string(m_lines[i].line) +
                                ": removed from the log"};
    }

    const std::vector<LogLine>& m_lines;
    std::map<std::uint64_t, std::vector<std::size_t>> m_lines_of_seq;
};

}  // namespace

std::string_view kind_name(ChainProblem::Kind kind) {
    switch (kind) {
        case Kind::Altered:
            return "altered";
        case Kind::Removed:
            return "removed";
        case Kind::Inserted:
            return "inserted";
        case Kind::Reordered:
            return "reordered";
        case Kind::Damaged:
            return "damaged";
    }
    return "altered";
}

base::Result<std::vector<LogLine>> read_log(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return base::Error(base::ErrorCode::Io, "cannot read the audit log " + path,
                           "check the path ('keyfence policy show' shows audit.path)");
    }
    std::vector<LogLine> lines;
    std::string text;
    for (int n = 1; std::getline(in, text); ++n) {
        lines.push_back({n, nlohmann::json::parse(text, nullptr, false)});
        if (lines.back().record.is_discarded()) lines.back().record = nullptr;
    }
    return lines;
}

VerifyReport verify_lines(const std::vector<LogLine>& lines) {
    return Verifier(lines).run();
}

base::Result<VerifyReport> verify_log(const std::string& path) {
    KEYFENCE_TRY_ASSIGN(lines, read_log(path));
    return verify_lines(lines);
}

}  // namespace keyfence::engine::audit
