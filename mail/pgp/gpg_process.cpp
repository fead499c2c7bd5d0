#include "mail/pgp/gpg_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "mail/pgp/passphrase.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// The descriptor numbers gpg gets for its status and command channels.
constexpr int k_status_fd = 3;
constexpr int k_command_fd = 4;

// A descriptor closed on scope exit (and on exec: every one here is O_CLOEXEC).
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const noexcept { return m_fd; }
    /// Hands the descriptor to `other` (which closes it from then on).
    void release_to(Fd& other) noexcept {
        other.reset(m_fd);
        m_fd = -1;
    }
    void reset(int fd = -1) noexcept {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = fd;
    }

  private:
    int m_fd = -1;
};

// A pipe whose ends sit above the numbers the child's actions use, so that no dup2 in the
// child is a no-op (which would keep O_CLOEXEC) or overwrites another action's source.
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

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Feeds gpg's standard input pipe with a byte range of a file, on a thread of its own, and is
// joined on every path. splice(2) moves the file's pages into the pipe without a copy through
// user space; where the kernel refuses (EINVAL), pread and write do the same. When gpg stops
// reading (it failed, or was stopped), the write end's EPIPE ends the feed: SIGPIPE is blocked
// on this thread, so the signal stays with the thread and vanishes with it.
class RangeFeeder {
  public:
    RangeFeeder(int fd, std::uint64_t offset, std::uint64_t length, Fd& pipe_w)
        : m_fd(fd), m_offset(offset), m_length(length) {
        m_pipe = pipe_w.get();
        pipe_w.release_to(m_owned);
        m_thread = std::thread([this] { run(); });
    }
    RangeFeeder(const RangeFeeder&) = delete;  // the thread refers to this object
    RangeFeeder& operator=(const RangeFeeder&) = delete;
    ~RangeFeeder() { join(); }
    void join() {
        if (m_thread.joinable()) m_thread.join();
    }
    /// After join(): a read of the file failed.
    bool failed() const noexcept { return m_failed; }

  private:
    void run() {
        sigset_t pipe_signal;
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
        loff_t at = static_cast<loff_t>(m_offset);
        std::uint64_t left = m_length;
        bool use_splice = true;
        std::string block;
        while (left > 0) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(left, 1 << 20));
            ssize_t n = -1;
            if (use_splice) {
                n = ::splice(m_fd, &at, m_pipe, nullptr, want, SPLICE_F_MOVE);
                if (n < 0 && errno == EINVAL) {
                    use_splice = false;
                    continue;
                }
            } else {
                block.resize(want);
                n = ::pread(m_fd, block.data(), want, at);
                if (n > 0 && !write_all(m_pipe, std::string_view(block.data(),
                                                                 static_cast<std::size_t>(n)))) {
                    break;  // gpg stopped reading
                }
                if (n > 0) at += n;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n == 0 || (n < 0 && errno != EPIPE)) m_failed = true;  // the file is shorter
            if (n <= 0) break;
            left -= static_cast<std::uint64_t>(n);
        }
        m_owned.reset();  // gpg sees the end of its input
    }

    int m_fd;
    std::uint64_t m_offset;
    std::uint64_t m_length;
    int m_pipe = -1;
    Fd m_owned;
    std::atomic<bool> m_failed{false};
    std::thread m_thread;
};

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

base::Result<GpgResult> run_gpg(Context& ctx, const GpgRun& run) {
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

    Fd status_r, status_w, command_r, command_w, out_r, out_w;
    if (!make_pipe(status_r, status_w) || !make_pipe(command_r, command_w) ||
        !make_pipe(out_r, out_w)) {
        return base::system_error(ErrorCode::Io, "could not create a pipe for gpg", errno);
    }
    Fd in_r, in_w;  // for a range of stdin_fd
    if (run.stdin_length && !make_pipe(in_r, in_w)) {
        return base::system_error(ErrorCode::Io, "could not create a pipe for gpg", errno);
    }
    constexpr int k_large_pipe = 1 << 20;
    if (run.large_pipes) {
        // Best effort: an unprivileged process may be held to /proc/sys/fs/pipe-max-size.
        (void)::fcntl(out_w.get(), F_SETPIPE_SZ, k_large_pipe);
        if (in_w.get() >= 0) (void)::fcntl(in_w.get(), F_SETPIPE_SZ, k_large_pipe);
    }
    if (run.stdin_fd >= 0 && !run.stdin_length && ::lseek(run.stdin_fd, 0, SEEK_SET) != 0) {
        return base::system_error(ErrorCode::Io, "could not rewind the content for gpg", errno);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (run.stdin_length) {
        posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
    } else if (run.stdin_fd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, run.stdin_fd, 0);
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, status_w.get(), k_status_fd);
    posix_spawn_file_actions_adddup2(&actions, command_r.get(), k_command_fd);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    status_w.reset();
    command_r.reset();
    out_w.reset();
    in_r.reset();
    if (rc != 0) return base::system_error(ErrorCode::Io, "could not run " + program, rc);
    std::optional<RangeFeeder> feeder;
    if (run.stdin_length) feeder.emplace(run.stdin_fd, run.stdin_offset, *run.stdin_length, in_w);

    GpgResult result;
    PinState pin{PassphraseAnswerer::installed_on(ctx.get()), command_w.get(), {}, {}, false};
    std::string pending;  // an incomplete status line
    std::string block(run.large_pipes ? k_large_pipe : 1 << 16, '\0');
    bool pipe_failed = false;
    while (status_r.get() >= 0 || out_r.get() >= 0) {
        pollfd fds[2] = {{status_r.get(), POLLIN, 0}, {out_r.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            pipe_failed = true;
            break;
        }
        if (fds[0].revents != 0) {
            const ssize_t n = ::read(status_r.get(), block.data(), block.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                status_r.reset();
            } else {
                pending.append(block.data(), static_cast<std::size_t>(n));
                std::size_t nl;
                while ((nl = pending.find('\n')) != std::string::npos) {
                    std::string line = pending.substr(0, nl);
                    pending.erase(0, nl + 1);
                    static const std::string prefix = "[GNUPG:] ";
                    if (line.compare(0, prefix.size(), prefix) != 0) continue;
                    if (!on_status(line.substr(prefix.size()), pin, result, run)) {
                        pipe_failed = true;
                    }
                }
            }
        }
        if (fds[1].revents != 0) {
            const ssize_t n = ::read(out_r.get(), block.data(), block.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                out_r.reset();
            } else if (run.output &&
                       !run.output(std::string_view(block.data(), static_cast<std::size_t>(n)))) {
                // The sink failed: stop gpg rather than let it block on a full pipe.
                result.output_failed = true;
                ::kill(pid, SIGTERM);
                out_r.reset();
            }
        }
        if (pipe_failed) {
            ::kill(pid, SIGTERM);
            break;
        }
    }
    command_w.reset();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (feeder) {
        feeder->join();  // gpg has exited: the pipe has no reader, the feed ends
        result.input_failed = feeder->failed();
    }
    if (pipe_failed) return base::Error(ErrorCode::Io, "lost the connection to gpg");
    result.exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return result;
}

}  // namespace keyfence::mail::pgp
