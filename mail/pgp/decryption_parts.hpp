#pragma once
// The pieces both decryption paths share (decrypt.cpp in memory, decrypt_file.cpp from a file):
// the encrypted entity of a message, and the parts of gpg's verdict and of the report. Not an
// interface of mail/: decrypt.hpp is.

#include <gpgme.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/gmime.hpp"
#include "mail/mime/message.hpp"
#include "mail/mime/sender.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/verify.hpp"

namespace keyfence::mail::pgp {

inline constexpr std::string_view k_pgp_message_begin = "-----BEGIN PGP MESSAGE-----";

/// The encrypted entity of a message: multipart/encrypted, or the text part with an inline block.
struct EncryptedEntity {
    GMimeObject* entity = nullptr;  ///< multipart/encrypted, or the text part with the block
    std::string ciphertext;         ///< the inline block (for multipart/encrypted: empty)
    std::string format;             ///< "multipart/encrypted" or "inline"
};

/// The encrypted entity of `message`; `mixed` tells whether anything else is beside it.
/// Errors: BadInput when there is none.
base::Result<EncryptedEntity> encrypted_content(mime::Message& message, bool& mixed);

/// RFC 3156 §4: the application/octet-stream part of a multipart/encrypted entity.
/// Errors: BadInput when the entity is not two parts of those types.
base::Result<GMimeObject*> payload_part(GMimeObject* entity);

/// The decrypted entity as a MIME entity: PGP/MIME plaintext is one; inline plaintext is text.
base::Result<mime::GPtr<GMimeObject>> plaintext_entity(const std::string& format,
                                                       const std::string& plaintext);

/// A multipart/signed entity inside the plaintext (RFC 3156 §6.1, signed then encrypted),
/// verified; nullopt when `entity` is not one.
std::optional<VerifyResult> verify_inner(Context& ctx, const std::string& plaintext,
                                         GMimeObject* entity, const std::vector<std::string>& from,
                                         const mime::SenderHeaders& sender);

/// gpg's verdict on a decryption: no integrity protection (EFAIL), or a failure of gpg's, each
/// mapped to one error.
base::Error no_integrity_error();
base::Error decrypt_failure(Context& ctx, gpgme_error_t err);

/// The signature gpg checked as it decrypted (RFC 3156 §6.2), judged against the message.
std::optional<VerifyResult> one_pass_signature(std::vector<SignatureInfo> signers,
                                               mime::Message& message);

}  // namespace keyfence::mail::pgp
