#pragma once
// Where PINs come from. The engine passes a PinSource down; token code never prompts by itself
// (as in GnuPG's scdaemon, where the PIN arrives through a callback).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/pin.hpp"
#include "base/result.hpp"

namespace keyfence::token {

/// Everything a prompt shows: which token, which key, which operation, which message, and the
/// PIN state. What you see is what you sign.
struct PinRequest {
    std::string token_label;
    std::string token_model;
    std::string token_manufacturer;
    std::string token_serial;
    bool token_is_software = false;
    std::string key_label;
    std::string key_fingerprint;  ///< SHA-256 of the public key, hex
    std::string operation;        ///< "sign", "decrypt", "derive"
    /// The message, as label/value lines: From, To, Subject, Date, SHA-256 of the content...
    std::vector<std::pair<std::string, std::string>> summary;
    bool count_low = false;         ///< a wrong PIN was entered since the last good one
    bool final_try = false;         ///< the next wrong PIN locks the token
    std::optional<int> tries_left;  ///< when the token says exactly
    bool context_specific = false;  ///< the key's own PIN check (CKA_ALWAYS_AUTHENTICATE)
    bool confirmation = false;      ///< a confirmation without PIN (inside a PIN session)

    /// Multi-line text for the prompt: token, key, operation, summary, PIN state.
    std::string description() const;
    /// The warning shown above the PIN field, or empty.
    std::string warning() const;
};

/// A source of PINs. Implementations must not log, store or retry the PIN.
class PinSource {
  public:
    virtual ~PinSource() = default;
    /// Asks for one PIN. Errors: Cancelled when the user declines, Io when the source fails.
    virtual base::Result<base::Pin> ask(const PinRequest& request) = 0;
    /// Tells the user to enter the PIN on the token's own PIN pad (no PIN passes through
    /// Keyfence). Called just before the login that waits for the pad.
    virtual void use_pin_pad(const PinRequest& request) = 0;
    /// Asks the user to confirm one operation without a PIN (policy
    /// pin.confirm_each_operation), showing the request's description. Errors: Cancelled when
    /// the user declines or when this source cannot ask (the default: refused, never assumed).
    virtual base::Status confirm(const PinRequest& request);
};

/// The error of a confirmation that was declined or could not be asked.
base::Error confirmation_refused(std::string why);

}  // namespace keyfence::token
