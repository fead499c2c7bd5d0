#include "tests/support/test_world.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace keyfence::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/keyfence-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

SoftHsmWorld::SoftHsmWorld() {
    const fs::path tmpl = KEYFENCE_SOFTHSM_TEMPLATE;
    if (!fs::exists(tmpl / "tokens")) {
        throw std::runtime_error("no SoftHSM template at " + tmpl.string() +
                                 "; run the softhsm_template test first (ctest does)");
    }
    fs::copy(tmpl, dir(), fs::copy_options::recursive);
    write_file(conf(), "directories.tokendir = " + (dir() / "tokens").string() +
                           "\nobjectstore.backend = file\nlog.level = ERROR\n"
                           "slots.removable = false\n");
    for (const char* name : {"SOFTHSM2_CONF", "XDG_STATE_HOME", "XDG_CONFIG_HOME"}) {
        if (const char* old = std::getenv(name)) m_saved_env[name] = old;
    }
    // In-process engines write their audit log and read the user's policy inside the world,
    // never in the real home directory.
    for (const auto& [k, v] : env()) ::setenv(k.c_str(), v.c_str(), 1);
}

SoftHsmWorld::~SoftHsmWorld() {
    for (const char* name : {"SOFTHSM2_CONF", "XDG_STATE_HOME", "XDG_CONFIG_HOME"}) {
        const auto saved = m_saved_env.find(name);
        if (saved != m_saved_env.end()) {
            ::setenv(name, saved->second.c_str(), 1);
        } else {
            ::unsetenv(name);
        }
    }
}

std::string SoftHsmWorld::cert_pem(const std::string& label) const {
    return (dir() / "certs" / (label + ".pem")).string();
}
std::string SoftHsmWorld::pubkey_pem(const std::string& label) const {
    return (dir() / "certs" / (label + ".pub.pem")).string();
}
std::string SoftHsmWorld::ca_pem() const {
    return (dir() / "certs" / "ca.pem").string();
}

std::map<std::string, std::string> SoftHsmWorld::env(
    std::map<std::string, std::string> extra) const {
    extra["SOFTHSM2_CONF"] = conf();
    extra.emplace("XDG_STATE_HOME", (dir() / "state").string());
    extra.emplace("XDG_CONFIG_HOME", (dir() / "config").string());
    return extra;
}

namespace {
// What a hung child's process group and every GnuPG daemon are doing: ps, and each group
// member's stacks when gdb is there.
std::string describe_hang(pid_t group) {
    const std::string g = std::to_string(group);
    const std::string command =
        "ps -eo pid,ppid,pgid,etimes,stat,wchan:24,args | awk 'NR==1 || $3==" + g +
        " || /gpg-agent|scdaemon|pkcs11-scd/' | grep -v awk; "
        "command -v gdb >/dev/null && for p in $(ps -eo pid,pgid | awk '$2==" +
        g +
        "{print $1}'); do echo \"--- stacks of $p\"; timeout 20 gdb -p $p -batch -ex "
        "'thread apply all bt 15' 2>/dev/null | grep -E '^#|^Thread'; done";
    std::string out;
    if (std::FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
            out.append(buffer, n);
        }
        ::pclose(pipe);
    }
    return out;
}
}  // namespace

ProcessResult run(const std::vector<std::string>& argv, const ProcessOptions& options) {
    // A child that exits before reading its input must not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    int out[2], err[2], in[2], fd3[2] = {-1, -1};
    if (::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC) || ::pipe2(in, O_CLOEXEC)) {
        throw std::runtime_error("pipe failed");
    }
    if (options.fd3_data && ::pipe2(fd3, O_CLOEXEC)) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    if (options.fd3_data) posix_spawn_file_actions_adddup2(&actions, fd3[0], 3);
    if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

    std::map<std::string, std::string> env;
    for (const char* name :
         {"PATH", "HOME", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* v = std::getenv(name)) env[name] = v;
    }
    for (const auto& [k, v] : options.env) env[k] = v;
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& a : args) argp.push_back(a.data());
    argp.push_back(nullptr);

    // Its own process group, so that a hung child and what it started can be killed together.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, argp[0], &actions, &attributes, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (fd3[0] >= 0) ::close(fd3[0]);
    if (rc != 0) throw std::runtime_error("could not start " + argv[0]);
    if (options.fd3_data) {
        (void)!::write(fd3[1], options.fd3_data->data(), options.fd3_data->size());
        ::close(fd3[1]);
    }
    (void)!::write(in[1], options.stdin_data.data(), options.stdin_data.size());
    ::close(in[1]);
    // Read both pipes with poll, so a child that fills one cannot deadlock the other.
    ProcessResult result;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_count = 2;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
    bool timed_out = false;
    while (open_count > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        const int ready = ::poll(fds, 2, static_cast<int>(std::min<long>(left.count(), 1000)));
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char buf[8192];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
            } else {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_count;
            }
        }
    }
    if (timed_out) {
        result.err += "\n[test harness] " + argv[0] + " still running after " +
                      std::to_string(options.timeout_seconds) + " s; the processes:\n" +
                      describe_hang(pid);
        ::kill(-pid, SIGKILL);
        for (auto& f : fds) {
            if (f.fd >= 0) ::close(f.fd);
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = timed_out           ? 124
                       : WIFEXITED(status) ? WEXITSTATUS(status)
                                           : 128 + WTERMSIG(status);
    return result;
}

ProcessResult run_keyfence(const SoftHsmWorld& world, std::vector<std::string> args,
                           ProcessOptions options, bool hermetic) {
    std::vector<std::string> argv = {KEYFENCE_BINARY};
    if (hermetic) {
        argv.insert(argv.end(), {"--no-p11-kit", "--module", k_softhsm_module});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& [k, v] : world.env()) options.env.emplace(k, v);
    return run(argv, options);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

}  // namespace keyfence::test
