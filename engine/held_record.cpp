// The agent's record of its held sessions (engine/held_record.hpp): JSON, rewritten whole and
// renamed into place, so a reader sees the old record or the new one, never a torn write.

#include "engine/held_record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace keyfence::engine {
namespace {
// Closes the descriptor and removes the temporary file unless it was renamed into place.
class TempFile {
  public:
    TempFile(std::string path, int fd) : m_path(std::move(path)), m_fd(fd) {}
    TempFile(const TempFile&) = delete;  // one owner of the file
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        if (m_fd >= 0) ::close(m_fd);
        if (!m_kept) ::unlink(m_path.c_str());
    }
    int fd() const noexcept { return m_fd; }
    const std::string& path() const noexcept { return m_path; }
    base::Status close() {
        const int fd = m_fd;
        m_fd = -1;
        if (::close(fd) != 0) return base::system_error(base::ErrorCode::Io, "close", errno);
        return {};
    }
    void keep() noexcept { m_kept = true; }

  private:
    std::string m_path;
    int m_fd = -1;
    bool m_kept = false;
};

base::Status io_error(const std::string& what, const std::string& path) {
    return base::system_error(base::ErrorCode::Io, "could not " + what + " " + path, errno);
}
}  // namespace

base::Result<std::string> held_record_path() {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime == nullptr || runtime[0] != '/') {
        return base::Error(base::ErrorCode::Unsupported,
                           "XDG_RUNTIME_DIR is not set (or not absolute): no session record");
    }
    return std::string(runtime) + "/keyfence/held-sessions.json";
}

base::Status write_held_records(const std::string& path, const std::vector<HeldRecord>& records) {
    if (records.empty()) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("remove", path);
        return {};
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : records) {
        list.push_back({{"homedir", r.homedir},
                        {"token_label", r.token_label},
                        {"token_serial", r.token_serial},
                        {"module", r.module_path},
                        {"deadline", r.deadline}});
    }
    const std::string text = nlohmann::json{{"held_sessions", list}}.dump(1) + "\n";
    std::string name = path + ".XXXXXX";
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);  // 0600
    if (fd < 0) return io_error("create a temporary file beside", path);
    TempFile temp(name, fd);
    std::string_view rest = text;
    while (!rest.empty()) {
        const ssize_t n = ::write(temp.fd(), rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("write", temp.path());
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    // On tmpfs ($XDG_RUNTIME_DIR) fsync costs nothing; elsewhere it keeps the rename honest.
    if (::fsync(temp.fd()) != 0) return io_error("sync", temp.path());
    if (auto closed = temp.close(); !closed) return closed;
    if (::rename(temp.path().c_str(), path.c_str()) != 0) return io_error("replace", path);
    temp.keep();
    return {};
}

base::Result<std::vector<HeldRecord>> read_held_records(const std::string& path) {
    std::vector<HeldRecord> out;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return out;
        return base::system_error(base::ErrorCode::Io, "could not read " + path, errno);
    }
    std::stringstream content;
    content << in.rdbuf();
    const auto json = nlohmann::json::parse(content.str(), nullptr, false);
    const auto bad = [&path] {
        return base::Error(base::ErrorCode::BadInput, path + " is not a session record");
    };
    if (!json.is_object() || !json.contains("held_sessions") || !json["held_sessions"].is_array()) {
        return bad();
    }
    for (const auto& entry : json["held_sessions"]) {
        if (!entry.is_object() || !entry.contains("homedir") || !entry["homedir"].is_string()) {
            return bad();
        }
        HeldRecord r;
        r.homedir = entry["homedir"].get<std::string>();
        // A field of another type reads as missing: the home is what the next agent needs.
        const auto text = [&entry](const char* key) {
            const auto it = entry.find(key);
            return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        r.token_label = text("token_label");
        r.token_serial = text("token_serial");
        r.module_path = text("module");
        if (const auto it = entry.find("deadline"); it != entry.end() && it->is_number_integer()) {
            r.deadline = it->get<std::int64_t>();
        }
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace keyfence::engine
