#pragma once
// S/MIME encryption (RFC 8551 §3.3): the body entity of a message, canonical, encrypted to
// certificates. AES-256-GCM AuthEnvelopedData (RFC 5083/5084) by default; AES-256-CBC
// EnvelopedData for recipients that cannot read GCM. RSA recipients by key transport (PKCS#1
// v1.5, or RSAES-OAEP with SHA-256 by option), EC recipients by ECDH key agreement (RFC 5753).
// No private key is used: encryption needs only the recipients' public keys.

#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/smime/cms_handles.hpp"

namespace keyfence::mail::smime {

struct EncryptOptions {
    bool legacy_cbc = false;  ///< EnvelopedData AES-256-CBC: no integrity protection
    bool oaep = false;        ///< RSAES-OAEP (SHA-256, RFC 8017) for RSA recipients
};

/// Encrypts `message`'s body to `recipients` and returns the whole output message (outer
/// headers kept; CRLF line ends). Errors: BadInput (not a message, an unusable certificate),
/// Usage (no recipients), Unsupported (a key type CMS cannot encrypt to).
base::Result<std::string> encrypt_message(std::string_view message,
                                          const std::vector<base::X509Ptr>& recipients,
                                          const EncryptOptions& options);

/// A CMS EnvelopedData/AuthEnvelopedData to `recipients`, with its RecipientInfos set up and
/// no content yet (CMS_PARTIAL | `flags`): CMS_final() or a streaming BIO (BIO_new_CMS) adds
/// it. Shared by the in-memory and the streaming encryptor. Errors: as encrypt_message().
base::Result<CmsPtr> start_encryption(const std::vector<base::X509Ptr>& recipients,
                                      const EncryptOptions& options, unsigned int flags);

/// The smime-type parameter for the structure `options` give (RFC 8551 §3.2.2).
const char* smime_type_for(const EncryptOptions& options);

}  // namespace keyfence::mail::smime
