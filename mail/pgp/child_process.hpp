#pragma once
// GnuPG's programs as child processes (gpg_process.hpp, gnupg_tool.hpp): descriptors closed on
// scope exit, pipes whose ends never collide with the numbers the child's descriptors are
// placed at, and one posix_spawn with standard input from a descriptor or /dev/null and
// standard error discarded.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/fd.hpp"
#include "base/result.hpp"

namespace keyfence::mail::pgp {

/// Every descriptor made here is also O_CLOEXEC.
using base::Fd;

/// A pipe (O_CLOEXEC) whose ends sit above 10, so that no dup2 in the child is a no-op (which
/// would keep O_CLOEXEC) or overwrites another placement's source. False when it failed.
bool make_pipe(Fd& read_end, Fd& write_end);

struct ChildDescriptors {
    int stdin_fd = -1;                        ///< from its current offset; -1: /dev/null
    std::vector<std::pair<int, int>> placed;  ///< (descriptor, its number in the child)
};

/// Starts `argv` (argv[0] looked up on PATH when `search_path`) with those descriptors and
/// standard error to /dev/null. Errors: Io when it cannot be started.
base::Result<pid_t> spawn_child(std::vector<std::string> argv, const ChildDescriptors& fds,
                                bool search_path);

/// Waits for `pid` (retrying on EINTR); its wait status.
int wait_child(pid_t pid);

}  // namespace keyfence::mail::pgp
