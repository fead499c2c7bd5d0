#include "engine/audit/audit_log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

#include "base/hex.hpp"
#include "engine/audit/audit_time.hpp"

namespace keyfence::engine::audit {

namespace {

constexpr std::string_view k_genesis = "keyfence audit log v1 genesis";
// Records are small (about 1 KiB); a last line longer than this is damage, not a record.
constexpr off_t k_max_record = 1 << 20;

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return base::to_hex(std::span<const std::uint8_t>(md, len));
}

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

base::Status make_dirs(const std::string& dir) {
    if (dir.empty()) return {};
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) return {};
    const auto slash = dir.rfind('/');
    if (slash != std::string::npos && slash > 0) KEYFENCE_TRY(make_dirs(dir.substr(0, slash)));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return base::system_error(base::ErrorCode::Io, "cannot create " + dir, errno);
    }
    return {};
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// The last line of the file (without its newline); empty for an empty file.
base::Result<std::string> read_last_line(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return base::system_error(base::ErrorCode::Io, "cannot stat " + path, errno);
    if (st.st_size == 0) return std::string();
    const off_t start = st.st_size > k_max_record ? st.st_size - k_max_record : 0;
    std::string tail(static_cast<std::size_t>(st.st_size - start), '\0');
    if (::pread(fd, tail.data(), tail.size(), start) != static_cast<ssize_t>(tail.size())) {
        return base::system_error(base::ErrorCode::Io, "cannot read " + path, errno);
    }
    if (tail.back() != '\n') {
        return base::Error(base::ErrorCode::Io,
                           "the audit log " + path + " ends in an incomplete record",
                           "run 'keyfence audit verify' and keep the log for inspection; move it "
                           "aside to start a new one");
    }
    tail.pop_back();
    const auto newline = tail.rfind('\n');
    if (newline == std::string::npos && start > 0) {
        return base::Error(base::ErrorCode::Io, "the last record of " + path + " is too long");
    }
    return newline == std::string::npos ? tail : tail.substr(newline + 1);
}

base::Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return base::system_error(base::ErrorCode::Io, "cannot write " + path, errno);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Holds flock(LOCK_EX) for one append, so concurrent keyfence processes chain correctly.
class FileLock {
  public:
    explicit FileLock(int fd) : m_fd(fd) {
        while (::flock(m_fd, LOCK_EX) != 0 && errno == EINTR) {
        }
    }
    ~FileLock() { ::flock(m_fd, LOCK_UN); }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    int m_fd;
};

}  // namespace

std::string genesis_hash() {
    return sha256_hex(k_genesis);
}

std::string record_hash(const nlohmann::json& record) {
    nlohmann::json body = record;
    body.erase("hash");
    // Canonical: nlohmann keeps object keys sorted; invalid UTF-8 is replaced, not thrown.
    return sha256_hex(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string default_log_path() {
    std::string state = env_or_empty("XDG_STATE_HOME");
    if (state.empty() || state.front() != '/') state = env_or_empty("HOME") + "/.local/state";
    return state + "/keyfence/audit.log";
}

std::string resolve_log_path(const std::string& policy_path) {
    if (policy_path.empty()) return default_log_path();
    if (policy_path.starts_with("~/")) return env_or_empty("HOME") + policy_path.substr(1);
    return policy_path;
}

base::Result<AuditLog> AuditLog::open(const std::string& path) {
    KEYFENCE_TRY(make_dirs(parent_of(path)));
    const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return base::system_error(base::ErrorCode::Io, "cannot open the audit log " + path, errno);
    }
    return AuditLog(path, fd);
}

AuditLog::AuditLog(AuditLog&& other) noexcept
    : m_path(std::move(other.m_path)), m_fd(std::exchange(other.m_fd, -1)) {}

AuditLog& AuditLog::operator=(AuditLog&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) ::close(m_fd);
        m_path = std::move(other.m_path);
        m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
}

AuditLog::~AuditLog() {
    if (m_fd >= 0) ::close(m_fd);
}

base::Status AuditLog::append(const AuditEvent& event) {
    FileLock lock(m_fd);
    KEYFENCE_TRY_ASSIGN(last, read_last_line(m_fd, m_path));
    nlohmann::json record = to_json(event);
    record["v"] = 1;
    record["seq"] = 1;
    record["prev"] = genesis_hash();
    if (!last.empty()) {
        const auto previous = nlohmann::json::parse(last, nullptr, false);
        if (previous.is_discarded() || !previous.contains("seq") ||
            !previous["seq"].is_number_unsigned() || !previous.contains("hash") ||
            !previous["hash"].is_string()) {
            return base::Error(base::ErrorCode::Io,
                               "the last record of the audit log " + m_path + " is damaged",
                               "run 'keyfence audit verify'; move the log aside to start anew");
        }
        record["seq"] = previous["seq"].get<std::uint64_t>() + 1;
        record["prev"] = previous["hash"];
    }
    record["time"] = utc_now();
    record["hash"] = record_hash(record);
    const std::string line =
        record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    KEYFENCE_TRY(write_all(m_fd, line, m_path));
    // The record must be on disk before the operation's result is returned.
    if (::fsync(m_fd) != 0) {
        return base::system_error(base::ErrorCode::Io, "cannot fsync the audit log " + m_path,
                                  errno);
    }
    if (record["seq"] == 1) {
        // A new log: make its directory entry durable too.
        const int dir = ::open(parent_of(m_path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            ::fsync(dir);
            ::close(dir);
        }
    }
    return {};
}

}  // namespace keyfence::engine::audit
