// keyfence lock: ends every PIN session of the agent now.

#include <cstdio>

#include "cli/agent_client.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"

namespace keyfence::cli {
namespace {
struct LockOptions {};

int run_lock(const GlobalOptions& globals, const LockOptions&) {
    GlobalOptions with_agent = globals;
    with_agent.no_agent = false;  // lock always reaches the agent when there is one
    auto agent = connect_agent(with_agent);
    if (!agent) {
        std::printf(
            "no agent is running: no PIN session is open (without the agent, a "
            "session ends with its command)\n");
        return k_exit_ok;
    }
    engine::agent::Request request;
    request.op = engine::agent::RequestOp::Lock;
    auto reply = agent->call(request, nullptr);
    if (!reply) {
        report_error(reply.error());
        return exit_code_for(reply.error());
    }
    const auto ended = reply->value("ended", 0);
    std::printf("locked: %d PIN session%s ended\n", ended, ended == 1 ? "" : "s");
    return k_exit_ok;
}
}  // namespace

void add_lock_command(CommandContext& context) {
    auto options = std::make_shared<LockOptions>();
    auto* cmd = context.app.add_subcommand(
        "lock", "End every PIN session of the agent now (the next operation asks for the PIN)");
    context.on_chosen(cmd, options, run_lock);
}

}  // namespace keyfence::cli
