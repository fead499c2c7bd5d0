#include "engine/session.hpp"

#include <algorithm>

#include "base/logger.hpp"

namespace keyfence::engine {

std::string_view session_end_name(SessionEnd why) {
    switch (why) {
        case SessionEnd::Expired:
            return "its time ran out";
        case SessionEnd::Exhausted:
            return "its operations were used up";
        case SessionEnd::TokenRemoved:
            return "the token was removed";
        case SessionEnd::Locked:
            return "locked";
        case SessionEnd::Shutdown:
            return "shutdown";
        case SessionEnd::Failed:
            return "an operation in it failed";
        case SessionEnd::PolicyChanged:
            return "the policy changed";
    }
    return "ended";
}

std::optional<SessionEnd> PinSessions::stale(const Open& open) const {
    if (m_clock() >= open.expires) return SessionEnd::Expired;
    // A removed token fails the holder's calls (CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID,
    // CKR_TOKEN_NOT_PRESENT); a token put back, or another one in the slot, is not logged in
    // any more or has another serial. Either way the session must not carry over.
    auto info = open.holder.token_info();
    if (!info || !info->present || info->serial != open.token_serial) {
        return SessionEnd::TokenRemoved;
    }
    auto logged_in = open.holder.user_logged_in();
    if (!logged_in || !*logged_in) return SessionEnd::TokenRemoved;
    return std::nullopt;
}

void PinSessions::end(std::map<Key, Open>::iterator it, SessionEnd why) {
    base::log_debug("PIN session on token '", it->second.token_label,
                    "' ended: ", session_end_name(why));
    // C_Logout ends the login for every session of this process on the token (PKCS#11 3.0
    // §5.6); closing the holder session then closes the last one.
    it->second.holder.logout();
    m_sessions.erase(it);
}

bool PinSessions::usable(const token::pkcs11::TokenInfo& token) {
    auto it = m_sessions.find(key_of(token));
    if (it == m_sessions.end()) return false;
    if (auto why = stale(it->second)) {
        end(it, *why);
        return false;
    }
    return true;
}

void PinSessions::count_operation(token::pkcs11::KeyLease& lease, const SessionLimits& limits) {
    const auto key = key_of(lease.token());
    auto it = m_sessions.find(key);
    if (it == m_sessions.end()) {
        // Opened while the lease's session is still open, so the login carries over to it.
        auto holder = token::pkcs11::Session::open(lease.session().module(), lease.token().slot_id);
        if (!holder) {
            base::log_warn("no PIN session: ", holder.error().message());
            return;
        }
        Open open{std::move(*holder),
                  lease.token().label,
                  lease.token().serial,
                  m_clock() + limits.ttl,
                  0,
                  limits.max_operations};
        it = m_sessions.emplace(key, std::move(open)).first;
    }
    if (++it->second.operations >= it->second.max_operations) {
        // The cap: this lease is the session's last operation. Drop the holder without a
        // logout; the lease logs out when it ends.
        base::log_debug("PIN session on token '", it->second.token_label,
                        "' ended: ", session_end_name(SessionEnd::Exhausted));
        m_sessions.erase(it);
        return;
    }
    lease.keep_login();
}

std::map<PinSessions::CardKey, PinSessions::CardOpen>::iterator PinSessions::find_card(
    const token::openpgp::CardReference& ref) {
    for (auto it = m_cards.begin(); it != m_cards.end(); ++it) {
        if (it->first.second == ref.serial &&
            (!ref.manufacturer || *ref.manufacturer == it->first.first)) {
            return it;
        }
    }
    return m_cards.end();
}

std::optional<SessionEnd> PinSessions::stale_card(CardOpen& open) const {
    if (m_clock() >= open.expires) return SessionEnd::Expired;
    if (!open.lease.check_still_verified()) return SessionEnd::TokenRemoved;
    return std::nullopt;
}

void PinSessions::end_card(std::map<CardKey, CardOpen>::iterator it, SessionEnd why) {
    base::log_debug("PIN session on OpenPGP card ", it->second.lease.card().serial_text(),
                    " ended: ", session_end_name(why));
    // The lease resets the card's PW1 state (VERIFY P1=FF) and closes its connection.
    it->second.lease.forget();
    m_cards.erase(it);
}

token::openpgp::CardLease* PinSessions::card(const token::openpgp::CardReference& ref) {
    auto it = find_card(ref);
    if (it == m_cards.end()) return nullptr;
    if (auto why = stale_card(it->second)) {
        end_card(it, *why);
        return nullptr;
    }
    return &it->second.lease;
}

void PinSessions::open_card(token::openpgp::CardLease lease, const SessionLimits& limits) {
    if (!lease.holds_verified() || limits.max_operations <= 1) return;  // ends (and resets)
    const CardKey key{lease.card().manufacturer, lease.card().serial};
    if (auto old = m_cards.find(key); old != m_cards.end()) end_card(old, SessionEnd::Shutdown);
    m_cards.emplace(key,
                    CardOpen{std::move(lease), m_clock() + limits.ttl, 1, limits.max_operations});
}

void PinSessions::count_card_operation(const token::openpgp::CardReference& ref) {
    auto it = find_card(ref);
    if (it == m_cards.end()) return;
    if (++it->second.operations >= it->second.max_operations) end_card(it, SessionEnd::Exhausted);
}

void PinSessions::end_card(const token::openpgp::CardReference& ref, SessionEnd why) {
    if (auto it = find_card(ref); it != m_cards.end()) end_card(it, why);
}

std::size_t PinSessions::sweep() {
    std::size_t ended = 0;
    for (auto it = m_held.begin(); it != m_held.end();) {
        auto next = std::next(it);
        if (auto why = stale_held(it->second)) {
            end_held(it, *why);
            ++ended;
        }
        it = next;
    }
    for (auto it = m_cards.begin(); it != m_cards.end();) {
        auto next = std::next(it);
        if (auto why = stale_card(it->second)) {
            end_card(it, *why);
            ++ended;
        }
        it = next;
    }
    for (auto it = m_sessions.begin(); it != m_sessions.end();) {
        auto next = std::next(it);
        if (auto why = stale(it->second)) {
            end(it, *why);
            ++ended;
        }
        it = next;
    }
    return ended;
}

std::size_t PinSessions::end_all(SessionEnd why) {
    std::size_t ended = 0;
    while (!m_held.empty()) {
        end_held(m_held.begin(), why);
        ++ended;
    }
    while (!m_cards.empty()) {
        end_card(m_cards.begin(), why);
        ++ended;
    }
    while (!m_sessions.empty()) {
        end(m_sessions.begin(), why);
        ++ended;
    }
    return ended;
}

std::vector<SessionInfo> PinSessions::list() const {
    std::vector<SessionInfo> out;
    const auto now = m_clock();
    for (const auto& [key, open] : m_sessions) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(open.expires - now);
        out.push_back({open.token_label, open.token_serial, key.first, open.operations,
                       open.max_operations, left.count() > 0 ? left.count() : 0});
    }
    for (const auto& [key, open] : m_cards) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(open.expires - now);
        const auto& card = open.lease.card();
        out.push_back({"OpenPGP card " + card.serial_text(), card.serial_text(),
                       "pcsc:" + open.lease.reader(), open.operations, open.max_operations,
                       left.count() > 0 ? left.count() : 0});
    }
    for (const auto& [name, open] : m_held) {
        if (open.operations >= open.max_operations) continue;  // its last operation is running
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(open.expires - now);
        out.push_back({open.session.token_label, open.session.token_serial,
                       open.session.module_path, open.operations, open.max_operations,
                       left.count() > 0 ? left.count() : 0});
    }
    return out;
}

std::optional<SessionEnd> PinSessions::stale_held(const HeldOpen& open) const {
    if (m_clock() >= open.expires) {
        return open.operations >= open.max_operations ? SessionEnd::Exhausted : SessionEnd::Expired;
    }
    if (open.session.present && !open.session.present()) return SessionEnd::TokenRemoved;
    return std::nullopt;
}

void PinSessions::end_held(std::map<std::string, HeldOpen>::iterator it, SessionEnd why) {
    base::log_debug("PIN session on token '", it->second.session.token_label, "' (",
                    it->second.session.name, ") ended: ", session_end_name(why));
    // Taken out first: end() may take seconds (it stops daemons) and must run once.
    HeldSession session = std::move(it->second.session);
    m_held.erase(it);
    if (session.end) session.end();
    held_changed();
}

void PinSessions::held_changed() const {
    if (!m_held_observer) return;
    std::vector<HeldSnapshot> held;
    for (const auto& [name, open] : m_held) {
        held.push_back({name, open.session.token_label, open.session.token_serial,
                        open.session.module_path, open.expires});
    }
    m_held_observer(held);
}

HeldUse PinSessions::use_held(const std::string& name, const std::string& token_serial) {
    auto it = m_held.find(name);
    if (it == m_held.end()) return HeldUse::None;
    HeldOpen& open = it->second;
    if (open.operations >= open.max_operations) return HeldUse::None;  // its client ends it
    if (open.session.token_serial != token_serial) {
        end_held(it, SessionEnd::TokenRemoved);  // another token behind the same daemons
        return HeldUse::None;
    }
    if (auto why = stale_held(open)) {
        end_held(it, *why);
        return HeldUse::None;
    }
    if (++open.operations < open.max_operations) return HeldUse::Counted;
    // The cap: the client ends the state after this operation; should it not, the session's
    // own end() runs a little later.
    base::log_debug("PIN session on token '", open.session.token_label,
                    "' ended: ", session_end_name(SessionEnd::Exhausted));
    open.expires = std::min(open.expires, m_clock() + k_held_grace);
    held_changed();
    return HeldUse::Last;
}

bool PinSessions::open_held(HeldSession session, const SessionLimits& limits) {
    if (auto old = m_held.find(session.name); old != m_held.end()) {
        HeldOpen& open = old->second;
        // A PIN asked inside a live session (an OpenPGP card verifies PW1 for signing and for
        // decryption separately, OpenPGP card 3.4 §7.2.2): the session goes on with its own
        // TTL and count, which use_held() already advanced for this operation.
        if (open.session.token_serial == session.token_serial &&
            open.operations < open.max_operations && !stale_held(open)) {
            return true;
        }
        m_held.erase(old);  // the daemons were restarted for this operation: their state is new
    }
    if (limits.max_operations <= 1) {
        held_changed();
        return false;
    }
    std::string name = session.name;
    m_held.emplace(std::move(name),
                   HeldOpen{std::move(session), m_clock() + limits.ttl, 1, limits.max_operations});
    held_changed();
    return true;
}

}  // namespace keyfence::engine
