#pragma once
// An EVP_PKEY whose private operations are callbacks: OpenSSL's CMS code signs, unwraps a
// content key (RSA key transport) or derives an ECDH secret (RFC 5753 key agreement) with it as
// with any key, and each callback hands the one private-key operation to whoever owns the key:
//   - the keyfenced agent (cli/smime_agent.cpp), which holds the PIN session, the queue and the
//     audit log for the token;
//   - a KeyLease in this process for keys that need a context-specific login before each
//     operation (CKA_ALWAYS_AUTHENTICATE, PIV slot 9c style): libp11 0.4.12 would ask its own
//     UI for that PIN, while the lease logs in with the PIN the user already gave (PKCS#11 3.0
//     §5.6, C_Login with CKU_CONTEXT_SPECIFIC).
// mail/ still sees no PKCS#11: only digests, wrapped keys, peer points and their results.

#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/handles.hpp"
#include "base/result.hpp"
#include "base/secure_buffer.hpp"

namespace keyfence::mail::smime {

/// What a delegated key is asked to sign: a digest, its hash, and for RSA the padding.
struct DigestToSign {
    std::string hash;  ///< "sha256", "sha384" or "sha512"
    std::span<const std::uint8_t> digest;
    /// RSA-PSS with salt length = hash length and MGF1 over the same hash (RFC 4056 §3), else
    /// PKCS#1 v1.5 (RSA) or ECDSA (EC).
    bool pss = false;
};

/// Returns the signature: RSA as is, ECDSA as a DER ECDSA-Sig-Value.
using DigestSigner =
    std::function<base::Result<std::vector<std::uint8_t>>(const DigestToSign& request)>;

/// The private-key operation of a decryption.
enum class KeyUnwrap {
    RsaPkcs1,       ///< RSAES-PKCS1-v1_5 (RFC 8017 §7.2)
    RsaOaepSha1,    ///< RSAES-OAEP, SHA-1, MGF1-SHA-1, empty label (RFC 8017 §7.1)
    RsaOaepSha256,  ///< RSAES-OAEP, SHA-256, MGF1-SHA-256, empty label (RFC 4055)
    Ecdh,           ///< ECDH with the peer's uncompressed point; the result is the x coordinate
};

/// Returns the decrypted block (RSA: the content-encryption key) or the ECDH shared secret.
using KeyDecryptor = std::function<base::Result<base::SecureBuffer>(
    KeyUnwrap mechanism, std::span<const std::uint8_t> data)>;

/// The callbacks of a delegated key, and the error of the last one that failed: OpenSSL's CMS
/// code only sees "failed", while the caller must tell a refused PIN or a removed token (its
/// own exit code) from a failure of the data (one "decryption failed" for all, Marvin).
struct KeyDelegate {
    DigestSigner sign;
    KeyDecryptor decrypt;
    std::optional<base::Error> failure;
};

/// A key with the public half of `public_key` (RSA or EC) whose private operations call
/// `*delegate`, which must outlive the key. Not thread-safe: one operation at a time.
/// Errors: Unsupported (neither RSA nor EC), Internal.
base::Result<base::EvpPkeyPtr> delegated_key(EVP_PKEY* public_key, KeyDelegate* delegate);

/// The error a decryption with a delegated key should report: the callback's own error when
/// it cannot depend on the data (PIN, cancellation, token presence, policy, the agent's
/// connection), else `fallback` — the one "decryption failed" (Bleichenbacher, Marvin).
base::Error delegated_error(const KeyDelegate& delegate, base::Error fallback);

}  // namespace keyfence::mail::smime
