#pragma once
// An EVP_PKEY whose private operation is a callback: OpenSSL's CMS code signs with it as with
// any key, and the callback hands the digest to the token through the caller's own signing
// path. Used for keys that need a context-specific login before each operation
// (CKA_ALWAYS_AUTHENTICATE, PIV slot 9c style): libp11 0.4.12 would ask its own UI for that
// PIN, while the key lease can log in with the PIN the user already gave (PKCS#11 3.0 §5.6,
// C_Login with CKU_CONTEXT_SPECIFIC). mail/ still sees no PKCS#11: only digests and signatures.

#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"

namespace keyfence::mail::smime {

/// Signs a digest (ECDSA: returns a DER ECDSA-Sig-Value). Called once per signature.
using DigestSigner =
    std::function<base::Result<std::vector<std::uint8_t>>(std::span<const std::uint8_t>)>;

/// An EC key with the public half of `public_key` whose ECDSA signing calls `*signer` (which
/// must outlive the key). Errors: Unsupported (not an EC key: RSA keys that need a
/// context-specific login are not delegated yet), Internal.
base::Result<base::EvpPkeyPtr> delegated_ec_key(EVP_PKEY* public_key, DigestSigner* signer);

}  // namespace keyfence::mail::smime
