// PIN sessions for PGP/MIME: GnuPG's gpg-agent and smartcard daemon (scdaemon with the card
// verified, or gnupg-pkcs11-scd logged in) of one home hold the unlocked state between the
// client's operations; the agent's engine keeps the session's limits and ends it by stopping
// those daemons and resetting the card, so that the next operation needs the PIN.

#include <filesystem>

#include "base/logger.hpp"
#include "engine/engine.hpp"
#include "mail/pgp/homedir.hpp"
#include "token/openpgp/card_directory.hpp"
#include "token/openpgp/pin_reset.hpp"

namespace keyfence::engine {
namespace {
constexpr std::string_view k_pcsc = "pcsc:";

std::string holder_name(const std::string& homedir) {
    return "gnupg:" + homedir;
}

base::Status check_home(const std::string& homedir) {
    std::error_code ec;
    if (homedir.empty() || homedir.front() != '/' || !std::filesystem::is_directory(homedir, ec)) {
        return base::Error(base::ErrorCode::BadInput,
                           "a PGP session needs the absolute path of an existing GnuPG home");
    }
    return {};
}

bool is_card(const PgpSessionTarget& target) {
    return target.module_path.rfind(k_pcsc, 0) == 0;
}

// The card with this serial still in its reader (a removed or replaced card has lost the
// state scdaemon relied on, or holds another user's keys).
bool card_present(const PgpSessionTarget& target) {
    const std::string reader = target.module_path.substr(k_pcsc.size());
    const token::openpgp::CardListing listing = token::openpgp::list_cards();
    for (const auto& entry : listing.cards) {
        if (entry.reader == reader && entry.card &&
            entry.card->serial_text() == target.token_serial) {
            return true;
        }
    }
    return false;
}
}  // namespace

base::Result<HeldUse> Engine::use_pgp_session(const PgpSessionTarget& target) {
    KEYFENCE_TRY(check_home(target.homedir));
    KEYFENCE_TRY_ASSIGN(effective, policy());  // a changed policy ends the sessions here
    if (effective->values().pin.mode != policy::PinMode::Session) return HeldUse::None;
    return m_sessions.use_held(holder_name(target.homedir), target.token_serial);
}

base::Result<std::optional<SessionLimits>> Engine::open_pgp_session(
    const PgpSessionTarget& target) {
    KEYFENCE_TRY(check_home(target.homedir));
    KEYFENCE_TRY_ASSIGN(effective, policy());
    const auto& pin = effective->values().pin;
    if (pin.mode != policy::PinMode::Session) return std::optional<SessionLimits>();
    HeldSession session;
    session.name = holder_name(target.homedir);
    session.token_label = target.token_label;
    session.token_serial = target.token_serial;
    session.module_path = target.module_path;
    if (is_card(target)) {
        session.present = [target] { return card_present(target); };
    } else {
        session.present = [this, target] {
            std::vector<token::pkcs11::ModuleFailure> failures;
            for (const auto& entry : tokens(failures)) {
                if (entry.info.present && entry.info.module_path == target.module_path &&
                    entry.info.serial == target.token_serial) {
                    return true;
                }
            }
            return false;
        };
    }
    if (!session.present()) return std::optional<SessionLimits>();
    const std::string homedir = target.homedir;
    const std::string reader =
        is_card(target) ? target.module_path.substr(k_pcsc.size()) : std::string();
    session.end = [homedir, reader] {
        // A short bound for gpgconf: the session must end on time, and the worker waits.
        if (auto stopped = mail::pgp::stop_daemons(homedir, std::chrono::seconds(2)); !stopped) {
            base::log_warn(stopped.error().message());
        }
        // scdaemon leaves the card verified when it exits.
        if (!reader.empty()) {
            if (auto forgot = token::openpgp::forget_card_pins(reader); !forgot) {
                base::log_warn("the OpenPGP card may still accept operations without a PIN: ",
                               forgot.error().message(),
                               "; remove the card from the reader to reset it");
            }
        }
    };
    const SessionLimits limits{std::chrono::seconds(pin.session_ttl), pin.session_max_operations};
    if (!m_sessions.open_held(std::move(session), limits)) return std::optional<SessionLimits>();
    return std::optional<SessionLimits>(limits);
}

}  // namespace keyfence::engine
