#pragma once
// Generating keys on an OpenPGP card through gpg --card-edit (GPGME's interact interface):
// the card makes the signature, decryption and authentication keys, gpg makes the
// certificate. The admin PIN and the PIN come through the context's passphrase callback.

#include <functional>
#include <string>

#include "base/result.hpp"
#include "mail/pgp/context.hpp"

namespace keyfence::mail::pgp {

struct CardKeygen {
    std::string name;      ///< the user ID's name
    std::string address;   ///< the user ID's address
    bool replace = false;  ///< the card already has keys: overwrite them
    /// Called when gpg goes on to the certificate's questions: the card accepted the admin PIN
    /// and the PIN (gpg checks both before it generates, g10/card-util.c).
    std::function<void()> on_pins_accepted;
};

/// Runs "admin", "generate" on the card in the home's reader, without an off-card backup of
/// the encryption key, keys valid forever. Returns the new certificate's fingerprint.
/// Errors: Cancelled (the card has keys and `replace` is false; an unexpected question from
/// gpg), those of gpg_error.
base::Result<std::string> generate_on_card(Context& ctx, const CardKeygen& request);

}  // namespace keyfence::mail::pgp
