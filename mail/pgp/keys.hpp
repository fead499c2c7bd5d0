#pragma once
// Finding keys in the GnuPG home: the signer's secret key (a stub pointing at the token), the
// recipients' public keys, by fingerprint or by e-mail address.

#include <string>
#include <vector>

#include "base/result.hpp"
#include "mail/gpgme_handles.hpp"
#include "mail/pgp/context.hpp"

namespace keyfence::mail::pgp {

/// What Keyfence shows and checks about an OpenPGP key.
struct KeyInfo {
    std::string fingerprint;             ///< of the primary key
    std::string keygrip;                 ///< of the subkey that does the operation
    std::string card_serial;             ///< the token's serial when the secret is on a token
    std::string algorithm;               ///< "rsa2048", "nistp256", ...
    std::vector<std::string> uids;       ///< "Name <addr>", valid user IDs only
    std::vector<std::string> addresses;  ///< their addresses, lower case
    bool on_token = false;               ///< the secret key is a stub for a card or token
};

/// The OpenPGP operation a key is picked for.
enum class KeyUse { Sign, Encrypt };

/// The one usable key for `selector` (a fingerprint, or an address matched against user IDs;
/// empty: the only usable key there is);
/// `secret` asks for a secret key (a token stub). Errors: KeyNotFound (lists what there is),
/// Ambiguous (several keys).
base::Result<GpgmeKeyPtr> find_key(Context& ctx, const std::string& selector, KeyUse use,
                                   bool secret);

/// The subkey that signs for `key` (the one describe() names for KeyUse::Sign), or null.
gpgme_subkey_t signing_subkey(gpgme_key_t key);

/// Describes `key` with the subkey that does `use` (for Encrypt with `keyid`: that subkey).
KeyInfo describe(gpgme_key_t key, KeyUse use, const std::string& keyid = {});

/// The token key (matching `selector`, or any when empty) with a secret encryption subkey among
/// `keyids`, and that subkey's id. Errors: KeyNotFound (the message is for none of the keys
/// there), Ambiguous (for several: name one with `selector`).
base::Result<std::pair<GpgmeKeyPtr, std::string>> find_recipient_key(
    Context& ctx, const std::string& selector, const std::vector<std::string>& keyids);

/// The lower-case addresses of the user IDs of `key` that are neither revoked nor invalid.
std::vector<std::string> key_addresses(gpgme_key_t key);

/// Imports OpenPGP keys (armored or binary). Returns how many were imported or unchanged.
/// Errors: BadInput when nothing in `data` is a key.
base::Result<int> import_keys(Context& ctx, std::string_view data);

}  // namespace keyfence::mail::pgp
