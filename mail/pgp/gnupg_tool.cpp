#include "mail/pgp/gnupg_tool.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "mail/pgp/child_process.hpp"

namespace keyfence::mail::pgp {

namespace {
base::Result<std::string> spawn(const std::vector<std::string>& argv, bool any_exit, int stdin_fd) {
    using base::ErrorCode;
    Fd out_r, out_w;
    if (!make_pipe(out_r, out_w)) {
        return base::system_error(ErrorCode::Io, "could not create a pipe", errno);
    }
    KEYFENCE_TRY_ASSIGN(pid, spawn_child(argv, {stdin_fd, {{out_w.get(), 1}}}, true));
    out_w.reset();  // the child's end: its exit ends the reads below
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(out_r.get(), buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    const int status = wait_child(pid);
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
