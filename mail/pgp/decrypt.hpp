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
/// The ciphertext read in place: the bytes of a payload part without a transfer encoding
/// (7bit, 8bit, binary: the armored message as it is) in the input file.
struct CiphertextRange {
    int fd = -1;  ///< the input file, held open by `stream`
    std::uint64_t offset = 0;
    /// The file's state when it was hashed (size, modification and change times): the bytes gpg
    /// reads must be the ones whose SHA-256 the PIN prompt showed.
    std::uint64_t file_size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    /// The part's GMime stream (a range of the file's stream), referenced so that the file stays
    /// open when the message's body is replaced by the decrypted entity.
    std::shared_ptr<GMimeStream> stream;
};

struct PreparedFileDecryption {
    mime::Message message;
    std::unique_ptr<HomeTempFile> ciphertext;  ///< the OpenPGP message (armored); null: `range`
    std::optional<CiphertextRange> range;      ///< the ciphertext in the input file
    std::uint64_t ciphertext_size = 0;
    std::string format;
    bool mixed = false;
    std::vector<std::uint8_t> sha256;  ///< of the ciphertext
};
/// A payload part without a transfer encoding is not copied: it is hashed and scanned where it
/// is, and gpg later reads exactly its byte range (`range`). Errors: as prepare_decryption(),
/// Io.
base::Result<PreparedFileDecryption> prepare_file_decryption(
    const std::string& path, const std::string& homedir, const smime::ProgressFn& progress = {});

/// The key ids of the prepared message's recipients (gpg lists its packets: the first 64 KiB,
/// the whole ciphertext only when they do not reach the encrypted data). Errors: as
/// message_recipients_file().
base::Result<std::vector<std::string>> prepared_recipients(const std::string& homedir,
                                                           const PreparedFileDecryption& prepared);

/// Phase 2, streaming: Keyfence runs gpg (mail/pgp/gpg_process.hpp) on the ciphertext file and
/// reads its verdict from the status lines (mail/pgp/decrypt_status.hpp). A PGP/MIME plaintext
/// streams to `out` as gpg writes it: the outer headers, then the decrypted entity (LF made
/// CRLF), with no plaintext file and no second parse (mail/pgp/plaintext_stream.hpp). A
/// multipart/signed entity inside (verified as before), inline plaintext and an entity whose
/// head GMime would not read as a header block are spooled to an unlinked temporary file and
/// take the parsing path. `out` receives bytes before gpg's verdict: it must expose nothing
/// until the caller commits it (base::AtomicOutput), which the caller does only on success.
/// The result's `message` is empty (it went to `out`).
/// Errors: as finish_decryption(), Io, and `out`'s.
base::Result<DecryptResult> finish_file_decryption(Context& ctx, PreparedFileDecryption& prepared,
                                                   const OutputFn& out,
                                                   const smime::ProgressFn& progress = {});

}  // namespace keyfence::mail::pgp
