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

constexpr std::string_view k_gnupg = "gnupg:";

std::string holder_name(const std::string& homedir) {
    return std::string(k_gnupg) + homedir;
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
// A held session's end: the home's daemons stopped, and the card's verified PINs reset (an
// empty reader: a PKCS#11 token, whose login ends with gnupg-pkcs11-scd). Warnings are logged;
// the first failure is returned for the audit log of a recorded session's end.
base::Status end_gnupg_state(const std::string& homedir, const std::string& reader) {
    base::Status result;
    // A short bound for gpgconf: the session must end on time, and the worker waits.
    if (auto stopped = mail::pgp::stop_daemons(homedir, std::chrono::seconds(2)); !stopped) {
        base::log_warn(stopped.error().message());
        result = stopped;
    }
    // scdaemon leaves the card verified when it exits.
    if (!reader.empty()) {
        if (auto forgot = token::openpgp::forget_card_pins(reader); !forgot) {
            base::log_warn("the OpenPGP card may still accept operations without a PIN: ",
                           forgot.error().message(),
                           "; remove the card from the reader to reset it");
            if (result) result = forgot;
        }
    }
    return result;
}

std::string reader_of(const std::string& module_path) {
    return module_path.rfind(k_pcsc, 0) == 0 ? module_path.substr(k_pcsc.size()) : std::string();
}
}  // namespace

void Engine::record_held_sessions(const std::string& path, const std::vector<HeldSnapshot>& held) {
    const auto steady_now = std::chrono::steady_clock::now();
    const auto wall_now = std::chrono::system_clock::now();
    std::vector<HeldRecord> records;
    for (const auto& s : held) {
        if (s.name.rfind(k_gnupg, 0) != 0) continue;
        const auto deadline =
            wall_now +
            std::chrono::duration_cast<std::chrono::system_clock::duration>(s.expires - steady_now);
        records.push_back(
            {s.name.substr(k_gnupg.size()), s.token_label, s.token_serial, s.module_path,
             std::chrono::duration_cast<std::chrono::seconds>(deadline.time_since_epoch())
                 .count()});
    }
    if (auto written = write_held_records(path, records); !written) {
        base::log_warn(
            "the PIN sessions could not be recorded (an agent that dies now leaves "
            "them unlocked until the next operation): ",
            written.error().message());
    }
}

base::Result<std::vector<std::pair<HeldRecord, base::Status>>> Engine::end_recorded_pgp_sessions() {
    std::vector<std::pair<HeldRecord, base::Status>> ended;
    const std::string& path = m_options.held_record_path;
    if (path.empty()) return ended;
    auto records = read_held_records(path);
    if (!records) {
        (void)write_held_records(path, {});  // a record no one can read helps no one
        return records.error();
    }
    for (auto& record : *records) {
        base::log_info("ending the PIN session a previous agent left on token '",
                       record.token_label, "' (", record.homedir, ")");
        base::Status status =
            record.homedir.empty() || record.homedir.front() != '/'
                ? base::Status(base::Error(base::ErrorCode::BadInput,
                                           "a recorded session names no absolute GnuPG home"))
                : end_gnupg_state(record.homedir, reader_of(record.module_path));
        ended.emplace_back(std::move(record), std::move(status));
    }
    // Ours are recorded from now on: none yet.
    if (auto cleared = write_held_records(path, {}); !cleared) return cleared.error();
    return ended;
}

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
    session.end = [homedir, reader] { (void)end_gnupg_state(homedir, reader); };
    const SessionLimits limits{std::chrono::seconds(pin.session_ttl), pin.session_max_operations};
    if (!m_sessions.open_held(std::move(session), limits)) return std::optional<SessionLimits>();
    return std::optional<SessionLimits>(limits);
}

}  // namespace keyfence::engine
