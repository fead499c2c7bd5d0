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

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/recipients.hpp"
#include "mail/pgp/sign.hpp"
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

/// Phase 1 for a message of any size in the file at `path` (docs/pgp.md, "Large messages"):
/// parsed file-backed; the OpenPGP message is decoded into a private file in `homedir` (gpg
/// lists its recipients from there) and hashed on the way.
struct PreparedFileDecryption {
    mime::Message message;
    std::unique_ptr<HomeTempFile> ciphertext;  ///< the OpenPGP message (armored)
    std::uint64_t ciphertext_size = 0;
    std::string format;
    bool mixed = false;
    std::vector<std::uint8_t> sha256;  ///< of the ciphertext
};
/// Errors: as prepare_decryption(), Io.
base::Result<PreparedFileDecryption> prepare_file_decryption(
    const std::string& path, const std::string& homedir, const smime::ProgressFn& progress = {});

/// Phase 2, streaming: gpg reads the ciphertext file and writes the plaintext to an unlinked
/// temporary file; only when gpg reported success with integrity protection is it parsed
/// (file-backed) and the message written to `out` in 1 MiB blocks. On any failure `out` has
/// had nothing. The result's `message` is empty (it went to `out`). A multipart/signed entity
/// inside, and inline plaintext, are read into memory to be checked or wrapped.
/// Errors: as finish_decryption(), Io, and `out`'s.
base::Result<DecryptResult> finish_file_decryption(Context& ctx, PreparedFileDecryption& prepared,
                                                   const OutputFn& out,
                                                   const smime::ProgressFn& progress = {});

}  // namespace keyfence::mail::pgp
