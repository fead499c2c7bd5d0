#pragma once
// The audit log: append-only JSON lines, hash-chained. Each record carries its sequence number,
// its time, the hash of the record before it ("prev"; the first record: the genesis hash) and
// its own hash; docs/audit.md describes the format and what the chain does and does not prove.

#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "engine/audit/audit_record.hpp"

namespace keyfence::engine::audit {

/// SHA-256 (hex) of the fixed genesis string: the "prev" of the first record.
std::string genesis_hash();

/// SHA-256 (hex) of a record: of its canonical JSON (sorted keys, no spaces) without "hash".
std::string record_hash(const nlohmann::json& record);

/// ${XDG_STATE_HOME:-~/.local/state}/keyfence/audit.log.
std::string default_log_path();
/// The log a policy's audit.path names: empty is the default, "~/..." is under $HOME.
std::string resolve_log_path(const std::string& policy_path);

class AuditLog {
  public:
    /// Opens (creating it, 0600, and its directories, 0700) the log for appending. Opening it
    /// before an operation lets a log that cannot be written fail before any PIN is asked.
    /// Errors: Io.
    static base::Result<AuditLog> open(const std::string& path);

    AuditLog(AuditLog&& other) noexcept;
    AuditLog& operator=(AuditLog&& other) noexcept;
    AuditLog(const AuditLog&) = delete;  // one owner of the descriptor
    AuditLog& operator=(const AuditLog&) = delete;
    ~AuditLog();

    /// Appends one record for `event`, chained to the last record, and fsyncs it before
    /// returning. Serialized with other processes by flock(2). Errors: Io (also when the
    /// last record is damaged: run `keyfence audit verify`).
    base::Status append(const AuditEvent& event);

    const std::string& path() const noexcept { return m_path; }

  private:
    AuditLog(std::string path, int fd) : m_path(std::move(path)), m_fd(fd) {}

    std::string m_path;
    int m_fd = -1;
};

}  // namespace keyfence::engine::audit
