#pragma once
// How the CLI finds and uses the agent (keyfenced): connect when one runs (not with
// --no-agent), with the options that must match the agent's for it to serve this command.

#include <optional>

#include "cli/globals.hpp"
#include "engine/agent/client.hpp"

namespace keyfence::cli {

/// The running agent, or nothing (--no-agent, none running, or one that may not be trusted —
/// the last with a warning; the command then works in-process).
std::optional<engine::agent::AgentClient> connect_agent(const GlobalOptions& globals);

/// The client options a request carries (the agent serves only matching module sets).
engine::agent::ClientOptions client_options(const GlobalOptions& globals);

}  // namespace keyfence::cli
