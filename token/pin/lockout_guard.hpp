#pragma once
// The lockout guard: read the PIN state before every login, refuse to spend the last try
// unless the user allowed it, and say how a locked PIN is unblocked.

#include "base/result.hpp"
#include "token/pkcs11/token_info.hpp"

namespace keyfence::token {

struct LockoutOptions {
    bool allow_last_pin_try = false;  ///< --allow-last-pin-try
};

/// Decides from the token's fresh flags whether a login may be tried now.
/// Errors: PinLocked (with how to unblock), LastTryRefused (with how to allow it).
base::Status check_lockout(const pkcs11::TokenInfo& token, const LockoutOptions& options);

/// The Error for a PIN the token rejected, with the state read after the failure.
base::Error rejected_pin_error(const pkcs11::TokenInfo& after, base::Error token_error);

}  // namespace keyfence::token
