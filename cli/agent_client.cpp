#include "cli/agent_client.hpp"

#include "base/logger.hpp"

namespace keyfence::cli {

std::optional<engine::agent::AgentClient> connect_agent(const GlobalOptions& globals) {
    if (globals.no_agent) return std::nullopt;
    auto agent = engine::agent::AgentClient::connect();
    if (!agent) {
        base::log_warn("the agent was not used: ", agent.error().message());
        return std::nullopt;
    }
    if (*agent) base::log_debug("using the agent (keyfenced)");
    return std::move(*agent);
}

engine::agent::ClientOptions client_options(const GlobalOptions& globals) {
    engine::agent::ClientOptions options;
    options.demo = globals.demo;
    options.allow_last_pin_try = globals.allow_last_pin_try;
    options.modules = globals.modules;
    options.no_p11_kit = globals.no_p11_kit;
    return options;
}

}  // namespace keyfence::cli
