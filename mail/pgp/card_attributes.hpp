#pragma once
// Choosing the algorithm of the keys an OpenPGP card generates: the card's algorithm
// attributes C1 (signature), C2 (decryption), C3 (authentication), OpenPGP card 3.4 §4.4.3.9,
// written by PUT DATA with the admin PIN. Keyfence asks scdaemon through the home's gpg-agent
// ("SCD SETATTR KEY-ATTR", the command gpg --card-edit key-attr sends, g10/card-util.c), over
// GPGME's Assuan protocol, the agent in loopback PIN mode.

#include <functional>
#include <optional>
#include <string>

#include "base/pin.hpp"
#include "base/result.hpp"

namespace keyfence::mail::pgp {

/// The algorithms of `pgp card-keygen --algo`: rsa2048, rsa4096, nistp256 (ECDSA and ECDH on
/// NIST P-256), ed25519 (EdDSA Ed25519 for signature and authentication, ECDH Cv25519 for
/// decryption). False for any other name.
bool is_card_algorithm(const std::string& algo);

/// Called for the admin PIN. Errors: Cancelled, and the PIN source's.
using AdminPinFn = std::function<base::Result<base::Pin>()>;

/// Sets the attributes of all three key slots of the card in the home's reader to `algo`
/// (which the card's existing keys do not survive). `admin_pin` is called once, for the first
/// slot; scdaemon forgets the verification after each change (scd/app-openpgp.c
/// change_keyattr), so the same PIN is given again for the other slots — only once the card
/// has accepted it, never after a rejection. Returns the accepted admin PIN (none when no slot
/// needed it) so that the key generation that follows need not ask again.
/// Errors: BadInput (unknown `algo`), Unsupported (the card cannot change its attributes),
/// those of gpg_error (PinIncorrect, PinLocked, Cancelled, ...), Io (the agent is not reachable).
base::Result<std::optional<base::Pin>> set_card_algorithm(const std::string& homedir,
                                                          const std::string& algo,
                                                          const AdminPinFn& admin_pin);

}  // namespace keyfence::mail::pgp
