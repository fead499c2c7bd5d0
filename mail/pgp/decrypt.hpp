#pragma once
// PGP/MIME decryption (RFC 3156 §4 and §6) in two phases:
//   1. prepare_decryption(): find the OpenPGP message — a multipart/encrypted body, or for
//      incoming mail an inline "BEGIN PGP MESSAGE" block in a text part — and its SHA-256 for
//      the PIN prompt. No key.
//   2. finish_decryption(): gpg decrypts (the token unwraps the session key once) and verifies
//      a signature inside in the same call; a signed entity inside is verified too.
// EFAIL: plaintext is released only when gpg decrypted the whole message with integrity
// protection (MDC or AEAD); a legacy message without it (symmetrically encrypted data packet,
// no MDC) or with a failing MDC gives no plaintext at all. Only the decrypted entity is
// output, never joined with unencrypted parts of the same message.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/verify.hpp"

namespace keyfence::mail::pgp {

struct PreparedDecryption {
    mime::Message message;
    std::string ciphertext;            ///< the OpenPGP message (armored)
    std::string format;                ///< "multipart/encrypted" or "inline"
    bool mixed = false;                ///< the message also holds unencrypted content
    std::vector<std::uint8_t> sha256;  ///< of `ciphertext`
};

struct DecryptResult {
    std::string message;  ///< outer headers around the decrypted entity only (CRLF)
    std::string format;
    bool mixed = false;                     ///< unencrypted parts were left out of `message`
    std::string cipher;                     ///< the symmetric cipher, e.g. "AES256"
    std::vector<std::string> recipients;    ///< key ids the message was encrypted to
    std::optional<VerifyResult> signature;  ///< when signed inside
};

/// Phase 1. Errors: BadInput (not a message; no encrypted content).
base::Result<PreparedDecryption> prepare_decryption(std::string_view message);

/// Phase 2. Errors: BadInput "decryption failed" for every failure of the data (no secret key
/// among the recipients is KeyNotFound), BadInput for a message without integrity protection,
/// and gpg's PIN errors (PinIncorrect, Cancelled, ...).
base::Result<DecryptResult> finish_decryption(Context& ctx, PreparedDecryption& prepared);

}  // namespace keyfence::mail::pgp
