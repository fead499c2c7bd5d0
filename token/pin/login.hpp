#pragma once
// The guarded login: lockout guard, one prompt, one C_Login, no retry.

#include <optional>

#include "base/pin.hpp"
#include "base/result.hpp"
#include "token/pin/lockout_guard.hpp"
#include "token/pin/pin_source.hpp"
#include "token/pkcs11/session.hpp"

namespace keyfence::token {

/// Logs the user in on `session`. Reads the token's PIN flags first (check_lockout), fills the
/// request's PIN state, asks `source` once (or has the user use the PIN pad), checks the length
/// against the token's limits (no try spent on a PIN the token would refuse anyway), and calls
/// C_Login once. A rejected PIN is never resubmitted. Returns the PIN only when `keep_pin`
/// (keys that need it again for their context-specific login); otherwise it is wiped here.
base::Result<std::optional<base::Pin>> log_in(pkcs11::Session& session, PinSource& source,
                                              PinRequest request, const LockoutOptions& options,
                                              bool keep_pin);

/// The context-specific login of a CKA_ALWAYS_AUTHENTICATE key, after the operation's Init
/// call (PKCS#11 3.0 §5.6): with the PIN kept from log_in, or the PIN pad.
base::Status context_login(pkcs11::Session& session, const base::Pin* pin, bool pin_pad);

}  // namespace keyfence::token
