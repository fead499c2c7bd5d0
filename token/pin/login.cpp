#include "token/pin/login.hpp"

#include "base/logger.hpp"

namespace keyfence::token {
namespace {
// Some modules report 0 or CK_UNAVAILABLE_INFORMATION; only plausible limits are enforced.
bool plausible_limits(const pkcs11::TokenInfo& t) {
    return t.max_pin_length > 0 && t.max_pin_length < 1024 && t.min_pin_length <= t.max_pin_length;
}
}  // namespace

base::Result<std::optional<base::Pin>> log_in(pkcs11::Session& session, PinSource& source,
                                              PinRequest request, const LockoutOptions& options,
                                              bool keep_pin) {
    KEYFENCE_TRY_ASSIGN(token, session.token_info());
    if (!token.pin.login_required) return std::optional<base::Pin>();
    KEYFENCE_TRY_ASSIGN(logged_in, session.user_logged_in());
    // Already logged in: a PIN session (engine/session.hpp) holds the login, or another lease
    // of this process does. No PIN is asked; a key that checks the PIN for each operation
    // (CKA_ALWAYS_AUTHENTICATE) then has none kept and is refused by context_login.
    if (logged_in) return std::optional<base::Pin>();
    KEYFENCE_TRY(check_lockout(token, options));

    request.count_low = token.pin.count_low;
    request.final_try = token.pin.final_try;
    if (token.pin.protected_auth_path) {
        // PKCS#11 3.0 §5.6: a NULL PIN makes the token read its own PIN pad.
        source.use_pin_pad(request);
        if (auto status = session.login(CKU_USER, {}, true); !status) {
            auto after = session.token_info();
            return rejected_pin_error(after ? *after : token, std::move(status).error());
        }
        return std::optional<base::Pin>();
    }
    KEYFENCE_TRY_ASSIGN(pin, source.ask(request));
    if (pin.empty()) {
        return base::Error(base::ErrorCode::PinInvalid, "an empty PIN was given; nothing was sent",
                           "enter the token's PIN");
    }
    if (plausible_limits(token) &&
        (pin.size() < token.min_pin_length || pin.size() > token.max_pin_length)) {
        return base::Error(base::ErrorCode::PinInvalid,
                           "the PIN must have " + std::to_string(token.min_pin_length) + " to " +
                               std::to_string(token.max_pin_length) +
                               " characters for this token; nothing was sent, no try was spent",
                           "enter the token's PIN");
    }
    if (auto status = session.login(CKU_USER, pin.bytes(), false); !status) {
        base::Error error = std::move(status).error();
        if (error.code != base::ErrorCode::PinIncorrect &&
            error.code != base::ErrorCode::PinLocked) {
            return error;
        }
        auto after = session.token_info();
        return rejected_pin_error(after ? *after : token, std::move(error));
    }
    base::log_debug("logged in to token '", token.label, "'");
    if (!keep_pin) return std::optional<base::Pin>();
    return std::optional<base::Pin>(std::move(pin));
}

base::Status context_login(pkcs11::Session& session, const base::Pin* pin, bool pin_pad) {
    if (pin == nullptr && !pin_pad) {
        return base::Error(base::ErrorCode::Unsupported,
                           "this key checks the PIN for every operation "
                           "(CKA_ALWAYS_AUTHENTICATE) and the login came from a PIN session, "
                           "which keeps no PIN",
                           "use this key with pin.mode = \"per-operation\", or run "
                           "'keyfence lock' first");
    }
    return session.login(CKU_CONTEXT_SPECIFIC,
                         pin != nullptr ? pin->bytes() : std::span<const std::uint8_t>{}, pin_pad);
}

}  // namespace keyfence::token
