#pragma once
// The agent's socket: where it is, who may own its directory, owned descriptors, whole-frame
// reads and writes, and the peer's credentials (SO_PEERCRED).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace keyfence::engine::agent {

/// A file descriptor with one owner; closed on destruction.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    UniqueFd(const UniqueFd&) = delete;  // one close per descriptor
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();
    int get() const noexcept { return m_fd; }
    explicit operator bool() const noexcept { return m_fd >= 0; }

  private:
    int m_fd = -1;
};

/// $XDG_RUNTIME_DIR/keyfence. Errors: Unsupported when XDG_RUNTIME_DIR is unset or relative.
base::Result<std::string> agent_directory();
/// $XDG_RUNTIME_DIR/keyfence/agent.sock.
base::Result<std::string> agent_socket_path();

/// Checks that `dir` is a real directory (not a symlink) owned by this user with mode 0700.
/// With `create`, makes it (0700) when missing. Errors: PolicyDenied naming what is wrong.
base::Status check_private_directory(const std::string& dir, bool create);

/// The peer of a connected Unix socket.
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};
base::Result<PeerCredentials> peer_credentials(int fd);

/// Binds and listens on `path` (0600), replacing a stale socket; refuses when an agent answers
/// there already. Errors: Io, Usage (already running).
base::Result<UniqueFd> listen_on(const std::string& path);
/// Connects to `path`. Errors: TokenAbsent (nothing listens: no agent), Io.
base::Result<UniqueFd> connect_to(const std::string& path);

/// Writes all of `bytes` (MSG_NOSIGNAL). Errors: Io.
base::Status send_all(int fd, std::span<const std::uint8_t> bytes);
/// Reads exactly `out.size()` bytes. Returns false on a clean end of stream before the first
/// byte. Errors: Io, BadInput (the stream ended inside the read: truncated).
base::Result<bool> recv_exact(int fd, std::span<std::uint8_t> out);

/// sd_listen_fds(3) without libsystemd: the first socket systemd passed (fd 3) when
/// LISTEN_PID is this process and LISTEN_FDS >= 1; unsets the variables either way.
std::optional<int> systemd_listen_fd();

}  // namespace keyfence::engine::agent
