#include "mail/pgp/gnupg_tool.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace keyfence::mail::pgp {

namespace {
base::Result<std::string> spawn(const std::vector<std::string>& argv, bool any_exit, int stdin_fd) {
    using base::ErrorCode;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return base::system_error(ErrorCode::Io, "could not create a pipe", errno);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (stdin_fd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> copy = argv;
    std::vector<char*> args;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return base::system_error(ErrorCode::Io, "could not run " + argv[0], rc);
    }
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = read(fds[0], buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && !any_exit)) {
        return base::Error(ErrorCode::Io, argv[0] + " failed");
    }
    return out;
}

}  // namespace

base::Result<std::string> run_tool(const std::vector<std::string>& argv, bool any_exit) {
    return spawn(argv, any_exit, -1);
}

base::Result<std::string> run_tool_reading(const std::vector<std::string>& argv, int stdin_fd) {
    return spawn(argv, false, stdin_fd);
}

}  // namespace keyfence::mail::pgp
