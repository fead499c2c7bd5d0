#include "mail/pgp/child_process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace keyfence::mail::pgp {

bool make_pipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    const int r = ::fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
    const int w = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
    ::close(fds[0]);
    ::close(fds[1]);
    read_end.reset(r);
    write_end.reset(w);
    return r >= 0 && w >= 0;
}

base::Result<pid_t> spawn_child(std::vector<std::string> argv, const ChildDescriptors& fds,
                                bool search_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (fds.stdin_fd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, fds.stdin_fd, 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    for (const auto& [fd, at] : fds.placed) posix_spawn_file_actions_adddup2(&actions, fd, at);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = search_path
                       ? posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ)
                       : posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return base::system_error(base::ErrorCode::Io, "could not run " + argv[0], rc);
    return pid;
}

int wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace keyfence::mail::pgp
