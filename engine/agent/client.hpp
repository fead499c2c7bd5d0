#pragma once
// The client side of the keyfenced protocol, for the CLI, doctor and tests: connect (only to an
// agent of this user, in a private directory), send a request, answer the agent's need-pin and
// need-confirm through the caller's own PinSource, and return the result.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "engine/agent/protocol.hpp"
#include "engine/agent/socket.hpp"
#include "token/pin/pin_source.hpp"

namespace keyfence::engine::agent {

class AgentClient {
  public:
    /// Connects to the agent at $XDG_RUNTIME_DIR/keyfence/agent.sock (or `path`). Nothing when
    /// no agent runs. Errors: PolicyDenied when the socket's directory is not private to this
    /// user or the process listening is not ours (nothing is sent to it), Io.
    static base::Result<std::optional<AgentClient>> connect();
    static base::Result<std::optional<AgentClient>> connect(const std::string& path);

    /// Sends `request` (its id is set here) and waits for its result. need-pin is answered
    /// with a PIN frame from `pins` (or a cancellation), need-confirm with pins->confirm();
    /// `pins` may be null (then both are declined). Returns the result object; an error
    /// result becomes its Error, except one with "fallback" (the agent has other modules),
    /// which is returned as is. Errors: Io when the agent goes away before answering.
    base::Result<nlohmann::json> call(Request request, token::PinSource* pins);

    int fd() const noexcept { return m_fd.get(); }

  private:
    explicit AgentClient(UniqueFd fd) : m_fd(std::move(fd)) {}
    base::Result<nlohmann::json> exchange(Request request, token::PinSource* pins);
    base::Result<nlohmann::json> read_message();
    base::Status answer_pin(std::uint64_t id, const nlohmann::json& message,
                            token::PinSource* pins);

    UniqueFd m_fd;
    std::uint64_t m_next_id = 1;
};

}  // namespace keyfence::engine::agent
