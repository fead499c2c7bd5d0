#include "tests/agent/agent_world.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/handles.hpp"

extern char** environ;

namespace keyfence::test {

AgentWorld::AgentWorld() {
    ::setenv("XDG_RUNTIME_DIR", runtime_dir().c_str(), 1);
}

AgentWorld::~AgentWorld() {
    if (m_pid > 0) stop();
    ::unsetenv("XDG_RUNTIME_DIR");
}

void AgentWorld::set_policy(const std::string& toml) {
    std::filesystem::create_directories(m_world.user_config().parent_path());
    write_file(m_world.user_config(), toml);
}

std::map<std::string, std::string> AgentWorld::env() const {
    return m_world.env({{"XDG_RUNTIME_DIR", runtime_dir()}});
}

pid_t spawn(std::vector<std::string> args, const std::map<std::string, std::string>& env,
            const std::vector<std::pair<int, int>>& fds) {
    std::vector<std::string> env_strings;
    for (const char* keep : {"PATH", "HOME", "TMPDIR", "ASAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* v = std::getenv(keep)) env_strings.push_back(std::string(keep) + "=" + v);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (const auto& [ours, theirs] : fds) posix_spawn_file_actions_adddup2(&actions, ours, theirs);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("could not start " + args[0]);
    return pid;
}

void AgentWorld::start() {
    m_pid = spawn({KEYFENCED_BINARY, "--no-p11-kit", "--module", k_softhsm_module}, env());
    // Ready when it answers a ping; it exits on its own when it cannot start.
    for (int i = 0; i < 600; ++i) {
        int status = 0;
        if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
            m_pid = -1;
            throw std::runtime_error("keyfenced exited at start");
        }
        if (auto client = engine::agent::AgentClient::connect(socket_path()); client && *client) {
            engine::agent::Request ping;
            if ((*client)->call(ping, nullptr)) return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("keyfenced did not answer");
}

int AgentWorld::stop(int signal) {
    if (m_pid <= 0) return -1;
    ::kill(m_pid, signal);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

engine::agent::AgentClient AgentWorld::connect() {
    auto client = engine::agent::AgentClient::connect(socket_path());
    if (!client || !*client) throw std::runtime_error("no agent to connect to");
    return std::move(**client);
}

base::Result<base::Pin> CountingPinSource::ask(const token::PinRequest& request) {
    ++asked;
    last_description = request.description();
    base::Pin pin;
    for (char c : std::string(k_user_pin)) pin.push_back(static_cast<std::uint8_t>(c));
    return pin;
}

base::Status CountingPinSource::confirm(const token::PinRequest& request) {
    ++confirmations;
    last_description = request.description();
    if (decline) return token::confirmation_refused("declined by the test");
    return {};
}

engine::agent::Request sign_request(std::span<const std::uint8_t> digest, const std::string& key) {
    engine::agent::Request request;
    request.op = engine::agent::RequestOp::Sign;
    request.key_uri = key;
    request.digest.assign(digest.begin(), digest.end());
    request.options.modules = {k_softhsm_module};
    request.options.no_p11_kit = true;
    request.summary = {{"Test", "agent"}};
    return request;
}

std::string first_error_line(const ProcessResult& r) {
    std::istringstream lines(r.err);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("keyfence: ", 0) == 0 && line.find("warning") == std::string::npos &&
            line.find("debug") == std::string::npos)
            return line;
    }
    return r.err;
}

bool verifies(const std::string& public_key_pem, std::span<const std::uint8_t> digest,
              std::span<const std::uint8_t> signature) {
    base::BioPtr bio(
        BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
    base::EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return false;
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
    return EVP_PKEY_verify_init(ctx.get()) == 1 &&
           EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1 &&
           EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                           digest.size()) == 1;
}

}  // namespace keyfence::test
