#pragma once
// Binding an existing PKCS#11 token key to a new OpenPGP certificate through gnupg-pkcs11-scd:
// the agent learns the token's keys (keygrip and pkcs11-helper's token/key id), then gpg makes
// the certificate from the keygrip; the secret stays on the token, gpg keeps a stub.

#include <string>
#include <vector>

#include "base/result.hpp"
#include "mail/pgp/context.hpp"

namespace keyfence::mail::pgp {

/// A key the smartcard daemon offers: its keygrip and the parts of its id.
struct LearnedKey {
    std::string keygrip;
    /// gnupg-pkcs11-scd: manufacturer, model, serial, label (unescaped) and the CKA_ID in hex.
    std::vector<std::string> id_parts;
};

/// Asks the agent of `homedir` to learn the token's keys (LEARN --sendinfo --force, which also
/// writes the key stubs). Errors: Io (no agent or daemon), TokenAbsent (no key offered).
base::Result<std::vector<LearnedKey>> learn_token_keys(const std::string& homedir);

/// Parses one "S KEYPAIRINFO GRIP ID" line; false when it is not one.
bool parse_keypairinfo(const std::string& line, LearnedKey& key);

/// The user ID parts of "Name <addr>": {name, address}. Errors: Usage when there is no address.
base::Result<std::pair<std::string, std::string>> split_uid(const std::string& uid);

/// Makes an OpenPGP certificate (RSA, sign and encrypt, no expiry) for the token key
/// `keygrip` with user ID `uid`; the token signs the self-signatures (PIN through the
/// context's passphrase callback). Returns the new key's fingerprint. Errors: those of
/// gpg_error.
base::Result<std::string> create_certificate(Context& ctx, const std::string& keygrip,
                                             const std::string& uid);

}  // namespace keyfence::mail::pgp
