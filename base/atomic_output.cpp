#include "base/atomic_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <vector>

namespace keyfence::base {
namespace {
Status write_fully(int fd, const std::uint8_t* data, std::size_t size, const std::string& what) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return system_error(ErrorCode::Io, "could not write " + what, errno);
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

mode_t default_file_mode() {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return 0666 & ~mask;
}
}  // namespace

Result<AtomicOutput> AtomicOutput::open(const std::string& path) {
    if (path.empty() || path == "-") return AtomicOutput("-", "", -1);
    const std::filesystem::path target(path);
    std::filesystem::path dir = target.parent_path();
    if (dir.empty()) dir = ".";
    // Built with += : g++ 12 at -O3 warns falsely (-Wrestrict) on "." + std::string.
    std::string hidden(".");
    hidden += target.filename().string();
    hidden += ".keyfence-XXXXXX";
    std::string temp = (dir / hidden).string();
    std::vector<char> name(temp.begin(), temp.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) {
        return system_error(ErrorCode::Io, "could not create a temporary file beside " + path,
                            errno);
    }
    ::fchmod(fd, default_file_mode());
    return AtomicOutput(path, std::string(name.data()), fd);
}

AtomicOutput::AtomicOutput(AtomicOutput&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_temp_path(std::move(other.m_temp_path)),
      m_fd(std::exchange(other.m_fd, -1)),
      m_stdout_buffer(std::move(other.m_stdout_buffer)),
      m_committed(std::exchange(other.m_committed, true)),
      m_written(other.m_written),
      m_flushed(other.m_flushed) {}

AtomicOutput::~AtomicOutput() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_committed && !m_temp_path.empty()) ::unlink(m_temp_path.c_str());
}

Status AtomicOutput::write(std::span<const std::uint8_t> bytes) {
    if (to_stdout()) {
        m_stdout_buffer.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return {};
    }
    KEYFENCE_TRY(write_fully(m_fd, bytes.data(), bytes.size(), m_path));
    m_written += bytes.size();
    // A large output starts its way to the disk while it is written (Linux), so that commit()'s
    // fsync waits for the last few MiB rather than for all of it. Only a hint: errors show at
    // the fsync.
    if (m_written - m_flushed >= k_flush_every) {
        ::sync_file_range(m_fd, static_cast<off_t>(m_flushed),
                          static_cast<off_t>(m_written - m_flushed), SYNC_FILE_RANGE_WRITE);
        m_flushed = m_written;
    }
    return {};
}

Status AtomicOutput::write(std::string_view text) {
    return write({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

Status AtomicOutput::commit() {
    if (m_committed) return Error(ErrorCode::Internal, "output committed twice");
    if (to_stdout()) {
        KEYFENCE_TRY(write_fully(STDOUT_FILENO,
                                 reinterpret_cast<const std::uint8_t*>(m_stdout_buffer.data()),
                                 m_stdout_buffer.size(), "standard output"));
        m_committed = true;
        return {};
    }
    if (::fsync(m_fd) != 0) return system_error(ErrorCode::Io, "could not sync " + m_path, errno);
    ::close(std::exchange(m_fd, -1));
    if (::rename(m_temp_path.c_str(), m_path.c_str()) != 0) {
        return system_error(ErrorCode::Io, "could not move the output into place at " + m_path,
                            errno);
    }
    m_committed = true;
    // Make the rename itself durable.
    std::filesystem::path dir = std::filesystem::path(m_path).parent_path();
    const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
    return {};
}

Result<std::string> read_all(const std::string& path) {
    const bool from_stdin = path.empty() || path == "-";
    const int fd = from_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return system_error(ErrorCode::Io, "could not open " + path, errno);
    std::string data;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            const int saved = errno;
            if (!from_stdin) ::close(fd);
            return system_error(ErrorCode::Io,
                                "could not read " + (from_stdin ? std::string("stdin") : path),
                                saved);
        }
        data.append(buf, static_cast<std::size_t>(n));
    }
    if (!from_stdin) ::close(fd);
    return data;
}

}  // namespace keyfence::base
