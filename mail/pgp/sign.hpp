#pragma once
// PGP/MIME signing (RFC 3156 §5) in two phases, like S/MIME: prepare_content() parses the
// message and fixes the exact bytes to be signed or encrypted (7bit, CRLF) and their SHA-256
// for the PIN prompt; finish_signature() lets gpg sign them on the token (one private-key
// operation) and builds the multipart/signed message around them.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/context.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

struct PreparedContent {
    mime::Message message;
    std::string content;               ///< the body entity, 7bit and CRLF; what is protected
    std::vector<std::uint8_t> sha256;  ///< of `content`
};

/// Phase 1 of signing and encryption. Errors: BadInput (not a message).
base::Result<PreparedContent> prepare_content(std::string_view message);

struct SignedMessage {
    std::string message;  ///< the whole multipart/signed message, CRLF
    std::string micalg;   ///< "pgp-sha256", ...
};

/// Phase 2: a detached signature by `signer` (gpg asks for the PIN through the context's
/// passphrase callback), checked with gpg before it is used (fault defence), then RFC 3156
/// §5 multipart/signed with protocol "application/pgp-signature" and the micalg of the hash
/// gpg used. Errors: those of gpg_error (PinIncorrect, Cancelled, ...), Internal.
base::Result<SignedMessage> finish_signature(Context& ctx, PreparedContent& prepared,
                                             gpgme_key_t signer);

/// Receives the output message in pieces (an AtomicOutput); it must show nothing of it until
/// the command succeeded.
using OutputFn = std::function<base::Status(std::string_view)>;

/// Phase 1 for a message of any size in the file at `path` (docs/pgp.md, "Large messages"):
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

/// Phase 2 of finish_signature() for a PreparedFile, streaming: a gpg run by Keyfence reads
/// the content file directly as its standard input to sign it (mail/pgp/gpg_process.hpp: the PIN
/// request goes to the context's once-only answerer); for a key gpg-agent does not check
/// itself (ECDSA, EdDSA: the agent verifies RSA token signatures), a second gpg checks the
/// signature reading the file the same way (fault defence: VALIDSIG by the signing key, or
/// nothing is written), while `out` gets the frame's head (outer headers, multipart/signed header,
/// first delimiter) and the content file (so the signed part is, by construction, exactly the bytes
/// signed and checked); then the signature part and the close delimiter, in 1 MiB blocks. On
/// failure `out` may have had part of the message: its owner must drop it (AtomicOutput). Returns
/// the micalg. Errors: as finish_signature(), Io, and `out`'s.
base::Result<std::string> finish_file_signature(Context& ctx, PreparedFile& prepared,
                                                gpgme_key_t signer, const OutputFn& out,
                                                const smime::ProgressFn& progress = {});

/// OpenPGP public-key algorithms 1 and 3 (RFC 4880 §9.1, RSA and RSA sign-only): gpg-agent
/// verifies a token's RSA signature itself before returning it (finish_file_signature()).
bool is_rsa(unsigned long pubkey_algo);
/// True when `signer` has a usable signing subkey and every one is RSA.
bool agent_checks_signatures(gpgme_key_t signer);

/// SHA-256 of `bytes`: what prompts and the audit log show of the content.
std::vector<std::uint8_t> sha256_of(std::string_view bytes);

/// RFC 3156 §5 micalg for a GPGME hash algorithm: "pgp-sha256", or "" when unknown.
std::string micalg_for(gpgme_hash_algo_t algo);

}  // namespace keyfence::mail::pgp
