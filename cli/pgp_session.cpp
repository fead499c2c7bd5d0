#include "cli/pgp_session.hpp"

#include <filesystem>

#include "base/logger.hpp"
#include "cli/agent_client.hpp"

namespace keyfence::cli {

std::optional<PgpSessionLink> PgpSessionLink::for_operation(const GlobalOptions& globals,
                                                            engine::Engine& engine,
                                                            const std::string& homedir,
                                                            const TokenKey& key) {
    auto policy = engine.policy();
    if (!policy || (*policy)->values().pin.mode != engine::policy::PinMode::Session) {
        return std::nullopt;
    }
    const auto& token = key.match.token;
    const bool card = token.module_path.rfind("pcsc:", 0) == 0;
    // A key gpg names on a card Keyfence cannot see (module "gnupg:scdaemon") has no token to
    // watch for removal; a card that resets PW1 after each signature cannot hold a session
    // without keeping the PIN, which would override the card owner's choice (forcesig).
    if (token.module_path.rfind("gnupg:", 0) == 0) return std::nullopt;
    if (card && !key.pw1_several_signatures) return std::nullopt;
    auto agent = connect_agent(globals);
    if (!agent) return std::nullopt;
    std::error_code ec;
    const std::filesystem::path home = std::filesystem::absolute(homedir, ec);
    if (ec) return std::nullopt;
    engine::agent::Request base;
    base.op = engine::agent::RequestOp::PgpSession;
    base.homedir = home.lexically_normal().string();
    base.token_serial = token.serial;
    base.token_label = token.label;
    base.module = token.module_path;
    return PgpSessionLink(std::move(*agent), std::move(base), (*policy)->values().pin.session_ttl);
}

std::optional<nlohmann::json> PgpSessionLink::call(const char* action) {
    engine::agent::Request request = m_base;
    request.action = action;
    auto reply = m_agent.call(std::move(request), nullptr);
    if (!reply) {
        base::log_warn("no PIN session through the agent: ", reply.error().message());
        return std::nullopt;
    }
    return std::move(*reply);
}

bool PgpSessionLink::use() {
    auto reply = call("use");
    if (!reply) return false;
    m_last = reply->value("last", false);
    return reply->value("live", false);
}

bool PgpSessionLink::open() {
    auto reply = call("open");
    if (!reply) return false;
    const bool opened = reply->value("opened", false);
    if (opened) {
        base::log_debug("PIN session handed to the agent: ", reply->value("ttl", 0), " s, ",
                        reply->value("max_operations", 0), " operations");
    }
    return opened;
}

}  // namespace keyfence::cli
