#pragma once
// PIN sessions (policy pin.mode = "session"): one PIN entry opens a session on a token that
// lasts pin.session_ttl seconds or pin.session_max_operations operations, whichever ends first.
// A session holds no PIN: it holds the token's login, through a PKCS#11 session of its own that
// stays open while the operations' key leases come and go (PKCS#11 3.0 §5.6: the login belongs
// to the application and ends when its last session closes or on C_Logout). It ends — with
// C_Logout — at its TTL, at its cap, when the token is removed or replaced (the holder session
// fails, the serial changes, or the token reports no login any more), on lock(), and when the
// owner (the agent, or the in-process engine) is destroyed.
//
// OpenPGP cards (no PKCS#11 login to hold): the session holds the card lease — an exclusive
// PC/SC connection on which the card stays verified for PSO:CDS — for cards whose PW1 status
// byte allows several signatures per VERIFY. No PIN is kept. Before each signature the card is
// checked (same serial, no reset or removal, VERIFY 81 status 9000); at every end the card's
// PW1 state is reset (VERIFY P1=FF) and the connection closed. A card that allows one
// signature per VERIFY gets no session: it asks the PIN every time.
//
// Held sessions (PGP/MIME): the unlocked state lives in another program — GnuPG's gpg-agent and
// smartcard daemon of one home, with the card verified or the PKCS#11 token logged in. The
// engine keeps the session's limits and its end: a callback that stops those daemons (and
// resets the card), so the next operation needs the PIN. The operations themselves run in the
// client, which asks use_held() before each one.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "token/openpgp/card_lease.hpp"
#include "token/pkcs11/key_lease.hpp"

namespace keyfence::engine {

/// How long a session lives and how many operations it allows.
struct SessionLimits {
    std::chrono::seconds ttl{300};
    std::int64_t max_operations = 20;
};

/// One open session, for status and doctor.
struct SessionInfo {
    std::string token_label;
    std::string token_serial;
    std::string module_path;
    std::int64_t operations = 0;      ///< operations done in it
    std::int64_t max_operations = 0;  ///< its cap
    std::int64_t seconds_left = 0;    ///< until its TTL
};

/// A session whose unlocked state another program holds (GnuPG's daemons of one home, for
/// PGP/MIME). `name` identifies the holder ("gnupg:" + the home); one session per holder.
struct HeldSession {
    std::string name;
    std::string token_label;
    std::string token_serial;
    std::string module_path;
    std::function<bool()> present;  ///< false once the token left (removed or replaced)
    std::function<void()> end;      ///< ends the unlocked state: the next operation needs a PIN
};

/// A held session as its owner records it (engine/held_record.hpp): which holder, which
/// token, and when its TTL ends.
struct HeldSnapshot {
    std::string name;
    std::string token_label;
    std::string token_serial;
    std::string module_path;
    std::chrono::steady_clock::time_point expires;
};

/// What use_held() found: no usable session, one counted operation in it, or its last one
/// (the client then ends the unlocked state itself, after the operation).
enum class HeldUse { None, Counted, Last };

/// Why a session ended, for the log.
enum class SessionEnd { Expired, Exhausted, TokenRemoved, Locked, Shutdown, Failed, PolicyChanged };
std::string_view session_end_name(SessionEnd why);

/// The PIN sessions of one engine. Not thread-safe: the engine's owner serializes calls (the
/// agent calls it only from its worker thread).
class PinSessions {
  public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    explicit PinSessions(Clock clock = [] { return std::chrono::steady_clock::now(); })
        : m_clock(std::move(clock)) {}
    PinSessions(const PinSessions&) = delete;  // each holds a login to end once
    PinSessions& operator=(const PinSessions&) = delete;
    ~PinSessions() { end_all(SessionEnd::Shutdown); }

    /// Ends the session on `token` if it can no longer be used (expired, token gone); true
    /// when a usable session remains, so the next login needs no PIN.
    bool usable(const token::pkcs11::TokenInfo& token);
    /// After a successful login on `lease`: opens a session for its token (when there is none)
    /// or counts one more operation in it. The lease keeps its login unless this operation
    /// reached the cap, in which case the session ends and the lease logs out as usual.
    /// Errors from opening the holder session leave the lease as in per-operation mode.
    void count_operation(token::pkcs11::KeyLease& lease, const SessionLimits& limits);
    /// Ends the sessions that expired or whose token is gone. Returns how many ended.
    std::size_t sweep();
    /// Ends every session now (keyfence lock, shutdown). Returns how many ended.
    std::size_t end_all(SessionEnd why);

    /// The held lease of an open card session for `ref`, or nullptr. Ends (and returns
    /// nullptr for) a session that expired or whose card is gone, replaced or reset.
    token::openpgp::CardLease* card(const token::openpgp::CardReference& ref);
    /// After the first signature of a held lease (holds_verified()): opens a session with it,
    /// counting that signature. At a cap of one the lease ends (and resets the card) at once.
    void open_card(token::openpgp::CardLease lease, const SessionLimits& limits);
    /// Counts one more signature in the card session for `ref`; ends it at its cap.
    void count_card_operation(const token::openpgp::CardReference& ref);
    /// Ends the card session for `ref` (a failed signature, a removed card).
    void end_card(const token::openpgp::CardReference& ref, SessionEnd why);

    /// Counts one operation in the held session `name` for the token `token_serial`, when it
    /// is usable (not expired, token present, same token). A session for another token ends.
    /// At its cap the session reports Last and stops counting; its end() still runs at the
    /// latest `k_held_grace` later, in case the client does not end the state itself.
    HeldUse use_held(const std::string& name, const std::string& token_serial);
    /// After an operation that asked the PIN with the holder's daemons: opens the session,
    /// counting that operation. A live session of the holder for the same token goes on as it
    /// was (the PIN unlocked more of the same token: a card's PW1 for the other operation);
    /// an ended or other one is replaced without ending it (the daemons were restarted: their
    /// state is the new one). At a cap of one nothing opens (false): the client ends it.
    bool open_held(HeldSession session, const SessionLimits& limits);
    static constexpr std::chrono::seconds k_held_grace{60};
    /// Called with every held session after each change to them (opened, replaced, its
    /// deadline moved, ended — after its end() ran, so a crash inside end() leaves the
    /// session recorded). The agent records them so that a successor can end them.
    void observe_held(std::function<void(const std::vector<HeldSnapshot>&)> observer) {
        m_held_observer = std::move(observer);
    }

    std::vector<SessionInfo> list() const;
    std::size_t size() const noexcept { return m_sessions.size() + m_cards.size() + m_held.size(); }

  private:
    struct Open {
        token::pkcs11::Session holder;
        std::string token_label;
        std::string token_serial;
        std::chrono::steady_clock::time_point expires;
        std::int64_t operations = 0;
        std::int64_t max_operations = 0;
    };
    using Key = std::pair<std::string, CK_SLOT_ID>;  // module path, slot
    static Key key_of(const token::pkcs11::TokenInfo& token) {
        return {token.module_path, token.slot_id};
    }
    /// Why the session can no longer be used, or nothing.
    std::optional<SessionEnd> stale(const Open& open) const;
    void end(std::map<Key, Open>::iterator it, SessionEnd why);

    struct CardOpen {
        token::openpgp::CardLease lease;
        std::chrono::steady_clock::time_point expires;
        std::int64_t operations = 0;
        std::int64_t max_operations = 0;
    };
    using CardKey = std::pair<std::uint16_t, std::uint32_t>;  // manufacturer, serial
    std::map<CardKey, CardOpen>::iterator find_card(const token::openpgp::CardReference& ref);
    void end_card(std::map<CardKey, CardOpen>::iterator it, SessionEnd why);
    /// Why the card session can no longer be used (asks the card), or nothing.
    std::optional<SessionEnd> stale_card(CardOpen& open) const;

    struct HeldOpen {
        HeldSession session;
        std::chrono::steady_clock::time_point expires;
        std::int64_t operations = 0;
        std::int64_t max_operations = 0;
    };
    std::optional<SessionEnd> stale_held(const HeldOpen& open) const;
    void end_held(std::map<std::string, HeldOpen>::iterator it, SessionEnd why);
    void held_changed() const;

    Clock m_clock;
    std::function<void(const std::vector<HeldSnapshot>&)> m_held_observer;
    std::map<std::string, HeldOpen> m_held;
    std::map<Key, Open> m_sessions;
    std::map<CardKey, CardOpen> m_cards;
};

}  // namespace keyfence::engine
