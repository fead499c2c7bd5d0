#pragma once
// What PGP/MIME signing and encryption share (RFC 3156 §3, §5): prepare_content() and
// prepare_file_content() parse the message and fix the exact bytes to be protected (7bit,
// CRLF) and their SHA-256 for the PIN prompt; the hash and micalg of a signature. Signing itself
// is mail/pgp/one_pass_sign.hpp; encryption mail/pgp/encrypt.hpp.

#include <gpgme.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

struct PreparedContent {
    mime::Message message;
    std::string content;               ///< the body entity, 7bit and CRLF; what is protected
    std::vector<std::uint8_t> sha256;  ///< of `content`
};

/// The bytes to protect, in memory. Errors: BadInput (not a message).
base::Result<PreparedContent> prepare_content(std::string_view message);

/// Receives the output message in pieces (an AtomicOutput); it must show nothing of it until
/// the command succeeded.
using OutputFn = std::function<base::Status(std::string_view)>;

/// The same for a message of any size in the file at `path` (docs/pgp.md, "Large messages"):
/// parsed file-backed, the body entity made 7bit and written canonically (CRLF) to an unlinked
/// temporary file, hashed (SHA-256) on the way. Memory stays constant.
struct PreparedFile {
    mime::Message message;
    smime::TempFile content;  ///< the body entity, 7bit and CRLF; what is protected
    std::uint64_t content_size = 0;
    std::vector<std::uint8_t> sha256;  ///< of `content`
};
/// Errors: BadInput (not a message), Io, Internal.
base::Result<PreparedFile> prepare_file_content(const std::string& path,
                                                const smime::ProgressFn& progress = {});

/// The hash of a signature by the signing subkey `sub` (fixed before the content is written:
/// the micalg heads the multipart/signed): SHA-256 for RSA, Ed25519 and 256-bit curves, SHA-384
/// for 384-bit curves, SHA-512 for larger ones and Ed448 (gpg refuses an ECDSA hash shorter than
/// the curve's order). GPGME's number is OpenPGP's (RFC 4880 §9.4).
gpgme_hash_algo_t signature_hash(gpgme_subkey_t sub);

/// SHA-256 of `bytes`: what prompts and the audit log show of the content.
std::vector<std::uint8_t> sha256_of(std::string_view bytes);

/// RFC 3156 §5 micalg for a GPGME hash algorithm: "pgp-sha256", or "" when unknown.
std::string micalg_for(gpgme_hash_algo_t algo);

}  // namespace keyfence::mail::pgp
