#include "engine/agent/socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace keyfence::engine::agent {
namespace {
base::Result<sockaddr_un> address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        return base::Error(base::ErrorCode::Usage, "the agent socket path is too long: " + path);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

base::Result<UniqueFd> unix_socket() {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return base::system_error(base::ErrorCode::Io, "could not create a socket", errno);
    return fd;
}
}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = std::exchange(o.m_fd, -1);
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (m_fd >= 0) ::close(m_fd);
}

base::Result<std::string> agent_directory() {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime == nullptr || runtime[0] != '/') {
        return base::Error(base::ErrorCode::Unsupported,
                           "XDG_RUNTIME_DIR is not set (or not absolute): no agent socket",
                           "log in through a session manager (systemd-logind sets it)");
    }
    return std::string(runtime) + "/keyfence";
}

base::Result<std::string> agent_socket_path() {
    KEYFENCE_TRY_ASSIGN(dir, agent_directory());
    return dir + "/agent.sock";
}

base::Status check_private_directory(const std::string& dir, bool create) {
    if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return base::system_error(base::ErrorCode::Io, "could not create " + dir, errno);
    }
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        return base::system_error(base::ErrorCode::TokenAbsent, "no agent directory " + dir, errno);
    }
    const std::string fix = "remove it (another user or program made it); keyfenced creates it";
    if (!S_ISDIR(st.st_mode)) {
        return base::Error(base::ErrorCode::PolicyDenied, dir + " is not a directory", fix);
    }
    if (st.st_uid != ::getuid()) {
        return base::Error(base::ErrorCode::PolicyDenied,
                           dir + " belongs to uid " + std::to_string(st.st_uid) + ", not to you",
                           fix);
    }
    if ((st.st_mode & 07777) != 0700) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
        return base::Error(base::ErrorCode::PolicyDenied,
                           dir + " has mode " + mode + "; the agent needs 0700",
                           "chmod 0700 " + dir + " (and check who changed it)");
    }
    return {};
}

base::Result<PeerCredentials> peer_credentials(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return base::system_error(base::ErrorCode::Io, "could not read the peer's credentials",
                                  errno);
    }
    return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

base::Result<UniqueFd> listen_on(const std::string& path) {
    KEYFENCE_TRY_ASSIGN(addr, address(path));
    if (auto existing = connect_to(path)) {
        return base::Error(base::ErrorCode::Usage, "an agent is already running on " + path,
                           "stop it first (keyfenced is per user: one is enough)");
    }
    ::unlink(path.c_str());  // a stale socket of an agent that is gone
    KEYFENCE_TRY_ASSIGN(fd, unix_socket());
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        return base::system_error(base::ErrorCode::Io, "could not bind " + path, errno);
    }
    if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 64) != 0) {
        return base::system_error(base::ErrorCode::Io, "could not listen on " + path, errno);
    }
    return fd;
}

base::Result<UniqueFd> connect_to(const std::string& path) {
    KEYFENCE_TRY_ASSIGN(addr, address(path));
    KEYFENCE_TRY_ASSIGN(fd, unix_socket());
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        const bool absent = e == ENOENT || e == ECONNREFUSED;
        return base::system_error(absent ? base::ErrorCode::TokenAbsent : base::ErrorCode::Io,
                                  "no agent at " + path, e);
    }
    return fd;
}

base::Status send_all(int fd, std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return base::system_error(base::ErrorCode::Io, "the agent connection broke", errno);
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

base::Result<bool> recv_exact(int fd, std::span<std::uint8_t> out) {
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::recv(fd, out.data() + got, out.size() - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return base::system_error(base::ErrorCode::Io, "the agent connection broke", errno);
        if (n == 0) {
            if (got == 0) return false;
            return base::Error(base::ErrorCode::BadInput, "the connection ended inside a frame");
        }
        got += static_cast<std::size_t>(n);
    }
    return true;
}

std::optional<int> systemd_listen_fd() {
    // sd_listen_fds(3): LISTEN_PID names the process the descriptors are for; they start at 3.
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    std::optional<int> result;
    if (pid != nullptr && fds != nullptr && std::strtol(pid, nullptr, 10) == ::getpid() &&
        std::strtol(fds, nullptr, 10) >= 1) {
        ::fcntl(3, F_SETFD, FD_CLOEXEC);
        result = 3;
    }
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return result;
}

}  // namespace keyfence::engine::agent
