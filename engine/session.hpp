#pragma once
// PIN sessions (policy pin.mode = "session"): one PIN entry opens a session on a token that
// lasts pin.session_ttl seconds or pin.session_max_operations operations, whichever ends first.
// A session holds no PIN: it holds the token's login, through a PKCS#11 session of its own that
// stays open while the operations' key leases come and go (PKCS#11 3.0 §5.6: the login belongs
// to the application and ends when its last session closes or on C_Logout). It ends — with
// C_Logout — at its TTL, at its cap, when the token is removed or replaced (the holder session
// fails, the serial changes, or the token reports no login any more), on lock(), and when the
// owner (the agent, or the in-process engine) is destroyed.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

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

/// Why a session ended, for the log.
enum class SessionEnd { Expired, Exhausted, TokenRemoved, Locked, Shutdown };
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

    std::vector<SessionInfo> list() const;
    std::size_t size() const noexcept { return m_sessions.size(); }

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

    Clock m_clock;
    std::map<Key, Open> m_sessions;
};

}  // namespace keyfence::engine
