#pragma once
// PIN sessions for PGP/MIME operations (pin.mode = "session", with keyfenced running): GnuPG's
// daemons of the home keep the token unlocked between commands, and the agent owns the
// session — its TTL, its operation cap and its end (docs/agent-protocol.md, "PGP/MIME").

#include <cstdint>
#include <optional>
#include <string>

#include "cli/globals.hpp"
#include "cli/pgp_support.hpp"
#include "engine/agent/client.hpp"

namespace keyfence::cli {

/// The agent's side of one PGP/MIME operation's PIN session. Not thread-safe.
class PgpSessionLink {
  public:
    /// A link when a session may hold this operation's token: the effective policy says
    /// pin.mode = "session", an agent runs (and --no-agent was not given), and the key is on an
    /// OpenPGP card in a reader whose PW1 stays valid for several signatures (OpenPGP card 3.4
    /// §4.4.1, DO C4) or on a PKCS#11 token recorded by `pgp bind`. Nothing otherwise: the
    /// operation asks the PIN and the daemons stop after it, as in per-operation mode.
    static std::optional<PgpSessionLink> for_operation(const GlobalOptions& globals,
                                                       engine::Engine& engine,
                                                       const std::string& homedir,
                                                       const TokenKey& key);
    PgpSessionLink(const PgpSessionLink&) = delete;  // one connection, one session
    PgpSessionLink& operator=(const PgpSessionLink&) = delete;
    PgpSessionLink(PgpSessionLink&&) = default;
    PgpSessionLink& operator=(PgpSessionLink&&) = default;

    /// True when the agent holds a live session for this home and token; it counted this
    /// operation. An agent error is a warning and means no session.
    bool use();
    /// After use(): this operation is the session's last (the cap); the caller ends the state.
    bool last() const noexcept { return m_last; }
    /// Hands the unlocked state this operation created to the agent. True when the agent
    /// opened a session (it then ends it); false: the caller ends the state now.
    bool open();
    /// The policy's session TTL, in seconds (how long gnupg-pkcs11-scd keeps its login).
    std::int64_t ttl_seconds() const noexcept { return m_ttl; }

  private:
    PgpSessionLink(engine::agent::AgentClient agent, engine::agent::Request base, std::int64_t ttl)
        : m_agent(std::move(agent)), m_base(std::move(base)), m_ttl(ttl) {}
    std::optional<nlohmann::json> call(const char* action);

    engine::agent::AgentClient m_agent;
    engine::agent::Request m_base;
    std::int64_t m_ttl = 0;
    bool m_last = false;
};

}  // namespace keyfence::cli
