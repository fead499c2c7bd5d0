#pragma once
// A SoftHSM world with a keyfenced of its own: a private XDG_RUNTIME_DIR (set for this process
// too, so in-process AgentClients find the agent), the agent started with the world's SoftHSM
// module only, and stopped by its PID (SIGTERM, then waited for) at the end.

#include <sys/types.h>

#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/agent/client.hpp"
#include "tests/support/test_world.hpp"
#include "token/pin/pin_source.hpp"

namespace keyfence::test {

class AgentWorld {
  public:
    AgentWorld();
    ~AgentWorld();
    AgentWorld(const AgentWorld&) = delete;
    AgentWorld& operator=(const AgentWorld&) = delete;

    SoftHsmWorld& softhsm() { return m_world; }
    std::string runtime_dir() const { return m_runtime.path().string(); }
    std::string socket_path() const { return runtime_dir() + "/keyfence/agent.sock"; }
    /// Writes the user's policy file (before start()).
    void set_policy(const std::string& toml);
    /// Starts keyfenced and waits until it answers a ping.
    void start();
    /// SIGTERM (or `signal`) to the agent, and waits for it. Returns its exit status, or -1
    /// when a signal ended it.
    int stop(int signal = 15);
    pid_t pid() const { return m_pid; }
    /// Environment for a keyfence child that should use this agent.
    std::map<std::string, std::string> env() const;

    /// A connected client; fails the test when none.
    engine::agent::AgentClient connect();

  private:
    SoftHsmWorld m_world;
    TempDir m_runtime;
    pid_t m_pid = -1;
};

/// Starts `args` (args[0] an absolute path) with PATH and `env` only; `fds` maps descriptors
/// of this process to the child's numbers (e.g. {pipe, 3}). Returns the child's pid; throws
/// when it cannot start.
pid_t spawn(std::vector<std::string> args, const std::map<std::string, std::string>& env,
            const std::vector<std::pair<int, int>>& fds = {});

/// Answers every PIN request with the test PIN and counts requests and confirmations.
class CountingPinSource final : public token::PinSource {
  public:
    base::Result<base::Pin> ask(const token::PinRequest& request) override;
    void use_pin_pad(const token::PinRequest&) override {}
    base::Status confirm(const token::PinRequest& request) override;

    std::atomic<int> asked{0};
    std::atomic<int> confirmations{0};
    bool decline = false;
    std::string last_description;
};

/// A sign request for `digest` (SHA-256) with the world's P-256 key (id 02), modules as the
/// agent has them.
engine::agent::Request sign_request(
    std::span<const std::uint8_t> digest,
    const std::string& key = "pkcs11:token=test-token;object=ecp256");

/// The first error line keyfence printed (not a warning, not a debug line): what the same
/// failure must print with and without the agent.
std::string first_error_line(const ProcessResult& r);

/// True when `signature` (DER ECDSA) verifies over the SHA-256 `digest` with the PEM public key.
bool verifies(const std::string& public_key_pem, std::span<const std::uint8_t> digest,
              std::span<const std::uint8_t> signature);

}  // namespace keyfence::test
