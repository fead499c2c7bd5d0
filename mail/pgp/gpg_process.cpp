#include "mail/pgp/gpg_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include "mail/pgp/child_process.hpp"
#include "mail/pgp/passphrase.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// The descriptor numbers gpg gets for its status and command channels.
constexpr int k_status_fd = 3;
constexpr int k_command_fd = 4;

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// What GPGME's passphrase handler would tell the callback: the key (USERID_HINT), gpg's
// passphrase info (NEED_PASSPHRASE) and whether the last answer was bad (BAD_PASSPHRASE).
struct PinState {
    PassphraseAnswerer* answerer = nullptr;
    int command_fd = -1;
    std::string uid_hint;
    std::string info;
    bool bad = false;
};

std::uint64_t progress_bytes(const std::string& args) {
    // "PROGRESS <what> <char> <cur> <total> [<units>]" (doc/DETAILS): cur in units.
    std::size_t at = 0;
    std::vector<std::string> fields;
    while (at < args.size()) {
        const std::size_t end = args.find(' ', at);
        fields.push_back(args.substr(at, end == std::string::npos ? end : end - at));
        if (end == std::string::npos) break;
        at = end + 1;
    }
    if (fields.size() < 4) return 0;
    std::uint64_t cur = std::strtoull(fields[2].c_str(), nullptr, 10);
    if (fields.size() >= 5) {
        if (fields[4] == "KiB") cur <<= 10;
        if (fields[4] == "MiB") cur <<= 20;
        if (fields[4] == "GiB") cur <<= 30;
    }
    return cur;
}

// One status line (without "[GNUPG:] "): answers what gpg asks on its command channel.
bool on_status(const std::string& line, PinState& pin, GpgResult& result, const GpgRun& run) {
    const std::size_t space = line.find(' ');
    const std::string keyword = line.substr(0, space);
    const std::string args = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (keyword == "USERID_HINT") {
        pin.uid_hint = args;
    } else if (keyword == "NEED_PASSPHRASE") {
        pin.info = args;
    } else if (keyword == "BAD_PASSPHRASE") {
        pin.bad = true;
    } else if (keyword == "PROGRESS") {
        if (run.progress) run.progress(progress_bytes(args), run.total);
    } else if (keyword == "FAILURE" || keyword == "ERROR") {
        const std::size_t sp = args.rfind(' ');
        const auto code = static_cast<gpgme_error_t>(
            std::strtoul(args.c_str() + (sp == std::string::npos ? 0 : sp + 1), nullptr, 10));
        if (code != 0 && (keyword == "FAILURE" || result.failure == 0)) result.failure = code;
    } else if (keyword == "GET_HIDDEN" || keyword == "GET_LINE" || keyword == "GET_BOOL") {
        gpgme_error_t answered = ::gpg_error(GPG_ERR_CANCELED);
        if (keyword == "GET_HIDDEN" && args == "passphrase.enter" && pin.answerer != nullptr) {
            PassphraseQuestion question{pin.uid_hint, pin.info, pin.bad};
            answered = pin.answerer->answer(question, pin.command_fd);
            pin.bad = false;
        }
        // A refused request is answered with gpg's cancel line (a sole Control-D, doc/DETAILS
        // "GET_xxx"), never with an empty line, which gpg would hand on as an (empty) PIN.
        if (answered != 0 && !write_all(pin.command_fd, "\x04\n")) return false;
    }
    result.status.push_back(line);
    return true;
}
}  // namespace

std::optional<std::string> GpgResult::find(const std::string& keyword) const {
    for (const auto& line : status) {
        if (line == keyword) return std::string();
        if (line.size() > keyword.size() && line.compare(0, keyword.size(), keyword) == 0 &&
            line[keyword.size()] == ' ') {
            return line.substr(keyword.size() + 1);
        }
    }
    return std::nullopt;
}

namespace {
// write(2) that reports a reader gone as EPIPE instead of killing the process with SIGPIPE
// (the CLI keeps SIGPIPE's default): the signal is blocked for this thread around the write
// and a pending one consumed.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) {
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    const ssize_t n = ::write(fd, data, size);
    const int saved = errno;
    if (n < 0 && saved == EPIPE) {
        const timespec now{0, 0};
        while (::sigtimedwait(&pipe_only, nullptr, &now) < 0 && errno == EINTR) {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return n;
}
}  // namespace

struct GpgProcess::State {
    GpgRun run;
    pid_t pid = -1;
    bool reaped = false;
    int wait_status = 0;
    Fd status_r, command_w, out_r, in_w;
    GpgResult result;
    PinState pin;
    std::string pending;  // an incomplete status line
    std::string block = std::string(1 << 16, '\0');
};

base::Result<GpgProcess> GpgProcess::start(Context& ctx, GpgRun run) {
    gpgme_engine_info_t engine = gpgme_ctx_get_engine_info(ctx.get());
    while (engine != nullptr && engine->protocol != GPGME_PROTOCOL_OpenPGP) engine = engine->next;
    const std::string program =
        engine != nullptr && engine->file_name != nullptr ? engine->file_name : "gpg";
    std::vector<std::string> argv{program,
                                  "--homedir",
                                  ctx.homedir(),
                                  "--batch",
                                  "--no-tty",
                                  "--status-fd",
                                  std::to_string(k_status_fd),
                                  "--command-fd",
                                  std::to_string(k_command_fd),
                                  "--pinentry-mode",
                                  "loopback",
                                  "--enable-progress-filter",
                                  "--exit-on-status-write-error",
                                  "--no-symkey-cache"};
    argv.insert(argv.end(), run.arguments.begin(), run.arguments.end());

    auto state = std::make_unique<State>();
    Fd status_w, command_r, out_w, in_r;
    if (!make_pipe(state->status_r, status_w) || !make_pipe(command_r, state->command_w) ||
        !make_pipe(state->out_r, out_w)) {
        return base::system_error(ErrorCode::Io, "could not create a pipe for gpg", errno);
    }
    const bool piped = run.stdin_fd == k_gpg_stdin_pipe;
    if (piped) {
        if (!make_pipe(in_r, state->in_w)) {
            return base::system_error(ErrorCode::Io, "could not create a pipe for gpg", errno);
        }
        // Fewer, larger transfers (1 MiB, pipe-max-size's default); the default 64 KiB also works.
        (void)::fcntl(state->in_w.get(), F_SETPIPE_SZ, 1 << 20);
        (void)::fcntl(state->in_w.get(), F_SETFL, O_NONBLOCK);
    } else if (run.stdin_fd >= 0 && ::lseek(run.stdin_fd, 0, SEEK_SET) != 0) {
        return base::system_error(ErrorCode::Io, "could not rewind the content for gpg", errno);
    }
    ChildDescriptors fds;
    fds.stdin_fd = piped ? in_r.get() : run.stdin_fd;
    fds.placed = {{out_w.get(), 1}, {status_w.get(), k_status_fd}, {command_r.get(), k_command_fd}};
    KEYFENCE_TRY_ASSIGN(pid, spawn_child(std::move(argv), fds, false));
    state->pid = pid;
    state->pin = PinState{
        PassphraseAnswerer::installed_on(ctx.get()), state->command_w.get(), {}, {}, false};
    state->run = std::move(run);
    GpgProcess process;
    process.m_state = std::move(state);
    return process;
}

GpgProcess::GpgProcess(GpgProcess&& other) noexcept : m_state(std::move(other.m_state)) {}

GpgProcess::~GpgProcess() {
    kill();
}

void GpgProcess::kill() noexcept {
    if (!m_state || m_state->reaped) return;
    ::kill(m_state->pid, SIGKILL);
    m_state->wait_status = wait_child(m_state->pid);
    m_state->reaped = true;
}

bool GpgProcess::service(bool want_write) {
    State& s = *m_state;
    pollfd fds[3] = {{s.status_r.get(), POLLIN, 0},
                     {s.out_r.get(), POLLIN, 0},
                     {want_write ? s.in_w.get() : -1, POLLOUT, 0}};
    if (::poll(fds, 3, -1) < 0) return errno == EINTR;
    if (fds[0].revents != 0) {
        const ssize_t n = ::read(s.status_r.get(), s.block.data(), s.block.size());
        if (n < 0 && errno == EINTR) return true;
        if (n <= 0) {
            s.status_r.reset();
        } else {
            s.pending.append(s.block.data(), static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = s.pending.find('\n')) != std::string::npos) {
                std::string line = s.pending.substr(0, nl);
                s.pending.erase(0, nl + 1);
                static const std::string prefix = "[GNUPG:] ";
                if (line.compare(0, prefix.size(), prefix) != 0) continue;
                if (!on_status(line.substr(prefix.size()), s.pin, s.result, s.run)) return false;
            }
        }
    }
    if (fds[1].revents != 0) {
        const ssize_t n = ::read(s.out_r.get(), s.block.data(), s.block.size());
        if (n < 0 && errno == EINTR) return true;
        if (n <= 0) {
            s.out_r.reset();
        } else if (s.run.output &&
                   !s.run.output(std::string_view(s.block.data(), static_cast<std::size_t>(n)))) {
            // The sink failed: stop gpg rather than let it block on a full pipe.
            s.result.output_failed = true;
            ::kill(s.pid, SIGTERM);
            s.out_r.reset();
        }
    }
    return true;
}

base::Status GpgProcess::feed(std::string_view bytes) {
    State& s = *m_state;
    while (!bytes.empty()) {
        if (s.in_w.get() < 0 || s.reaped) {
            return base::Error(ErrorCode::Io, "gpg stopped reading its input");
        }
        const ssize_t n = write_no_sigpipe(s.in_w.get(), bytes.data(), bytes.size());
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) {
            s.in_w.reset();
            return base::Error(ErrorCode::Io, "gpg stopped reading its input");
        }
        // The pipe is full: handle gpg's status and output until it takes more.
        if (!service(true)) {
            kill();
            return base::Error(ErrorCode::Io, "lost the connection to gpg");
        }
    }
    return {};
}

base::Result<GpgResult> GpgProcess::finish() {
    State& s = *m_state;
    s.in_w.reset();  // the end of gpg's input
    bool pipe_failed = s.reaped;
    while (!pipe_failed && (s.status_r.get() >= 0 || s.out_r.get() >= 0)) {
        if (!service(false)) pipe_failed = true;
    }
    s.command_w.reset();
    if (pipe_failed) {
        kill();
        return base::Error(ErrorCode::Io, "lost the connection to gpg");
    }
    s.wait_status = wait_child(s.pid);
    s.reaped = true;
    s.result.exited_ok = WIFEXITED(s.wait_status) && WEXITSTATUS(s.wait_status) == 0;
    return std::move(s.result);
}

base::Result<GpgResult> run_gpg(Context& ctx, const GpgRun& run) {
    KEYFENCE_TRY_ASSIGN(process, GpgProcess::start(ctx, run));
    return process.finish();
}

}  // namespace keyfence::mail::pgp
