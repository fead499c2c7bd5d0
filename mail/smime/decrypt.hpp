#pragma once
// S/MIME decryption in two phases, like signing:
//   1. prepare_decryption(): parse the message, find the CMS, check that it is encrypted to the
//      key's certificate. No key; refuses before any PIN is asked.
//   2. finish_decryption(): the key (an opaque EVP_PKEY on the token) unwraps the content key
//      once (RSA) or derives the ECDH secret once (EC); the content is decrypted in memory and
//      released only when it decrypted whole (for GCM: the tag checked).
// EFAIL: only a body that is encrypted as a whole is decrypted, and only the decrypted entity
// is output, never joined with unencrypted parts. Every failure of the data is one error.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/cms_handles.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::mail::smime {

struct PreparedDecryption {
    mime::Message message;
    CmsPtr cms;
    bool authenticated = false;        ///< AuthEnvelopedData (AEAD) rather than EnvelopedData
    std::string structure;             ///< "AuthEnvelopedData" or "EnvelopedData"
    std::size_t encrypted_size = 0;    ///< bytes of the CMS structure
    std::vector<std::uint8_t> sha256;  ///< of the CMS structure, for the prompt
};

struct DecryptResult {
    std::string message;  ///< outer headers around the decrypted entity (CRLF)
    bool authenticated = false;
    std::string structure;
    std::optional<VerifyResult> signature;  ///< when the decrypted entity is signed
};

/// Phase 1. Errors: BadInput (not an encrypted message; encrypted only in part), KeyNotFound
/// (not encrypted to `recipient`).
base::Result<PreparedDecryption> prepare_decryption(std::string_view message, X509* recipient);

/// Phase 2: one private-key operation with `key`. A signed entity inside is verified against
/// the outer From: with `verify`. Errors: BadInput "decryption failed" for every failure of the
/// data (wrong key, bad padding, tampered ciphertext or tag), so none can be told apart.
base::Result<DecryptResult> finish_decryption(PreparedDecryption& prepared, EVP_PKEY* key,
                                              X509* recipient, const VerifyOptions& verify);

/// Shared by the in-memory and the streaming decryptor (stream_decrypt.hpp):
/// BadInput unless `body` is S/MIME encrypted as a whole (EFAIL).
base::Status check_encrypted_body(GMimeObject* body);
/// BadInput unless `cms` is (Auth)EnvelopedData, KeyNotFound unless it names `recipient`;
/// true for AuthEnvelopedData.
base::Result<bool> check_enveloped(CMS_ContentInfo* cms, X509* recipient);
/// True when a RecipientInfo of `cms` names `cert` (issuer and serial, or key identifier).
bool encrypted_to(CMS_ContentInfo* cms, X509* cert);
/// The one error for every failure of the data (Bleichenbacher, Marvin).
base::Error decryption_failed();

}  // namespace keyfence::mail::smime
