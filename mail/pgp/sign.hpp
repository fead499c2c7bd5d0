#pragma once
// PGP/MIME signing (RFC 3156 §5) in two phases, like S/MIME: prepare_content() parses the
// message and fixes the exact bytes to be signed or encrypted (7bit, CRLF) and their SHA-256
// for the PIN prompt; finish_signature() lets gpg sign them on the token (one private-key
// operation) and builds the multipart/signed message around them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/context.hpp"

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

/// SHA-256 of `bytes`: what prompts and the audit log show of the content.
std::vector<std::uint8_t> sha256_of(std::string_view bytes);

/// RFC 3156 §5 micalg for a GPGME hash algorithm: "pgp-sha256", or "" when unknown.
std::string micalg_for(gpgme_hash_algo_t algo);

}  // namespace keyfence::mail::pgp
