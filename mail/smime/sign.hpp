#pragma once
// S/MIME signing (RFC 8551 §3.5) in two phases, so that the token is asked for exactly one
// private-key operation and the PIN prompt can show what is signed:
//   1. prepare_signature(): parse the message, canonicalise the body entity, hash it. No key.
//   2. finish_signature(): build the SignerInfo around that digest and let the key (an opaque
//      EVP_PKEY, on the token) sign the signed attributes once; build the output message.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/cms_handles.hpp"

namespace keyfence::mail::smime {

struct SignOptions {
    bool opaque = false;  ///< application/pkcs7-mime signed-data instead of multipart/signed
    bool pss = false;     ///< RSA-PSS (RFC 4056) instead of PKCS#1 v1.5 (RSA keys only)
    std::string hash = "sha256";  ///< sha256, sha384 or sha512
};

/// Phase 1's result: the message, the exact bytes that will be signed and their digests.
struct PreparedSignature {
    mime::Message message;
    std::string content;               ///< the body entity, canonical (CRLF); what is signed
    std::vector<std::uint8_t> digest;  ///< of `content` in options.hash
    std::vector<std::uint8_t> sha256;  ///< of `content`, for the prompt
    SignOptions options;
};

/// Phase 1. Parses `message`, transfer-encodes 8-bit parts for a multipart/signed body (RFC
/// 8551 §3.1.2: the signed bytes must survive transport unchanged) and hashes the canonical
/// body entity. Errors: BadInput (not a message), Usage (unknown hash).
base::Result<PreparedSignature> prepare_signature(std::string_view message,
                                                  const SignOptions& options);

/// Phase 2. Signs with `key` (one private-key operation), certifying with `signer` and adding
/// `chain`: signed attributes contentType, messageDigest (phase 1's digest), signingTime,
/// SMIMECapabilities and ESS signingCertificateV2 (RFC 5035). The signature is checked with
/// the certificate's public key before anything is returned. Returns the whole output message
/// (CRLF line ends) with the outer headers of the input. Errors: Unsupported, Internal,
/// ModuleFailure (the key's signature did not verify).
base::Result<std::string> finish_signature(PreparedSignature& prepared, EVP_PKEY* key, X509* signer,
                                           const std::vector<base::X509Ptr>& chain);

/// What build_signed_data() signs: the options, the content's digest in options.hash, and
/// for opaque signatures the content itself (ignored when detached).
struct SignedDataInput {
    const SignOptions& options;
    std::span<const std::uint8_t> digest;
    std::string_view opaque_content;
};

/// A CMS SignedData (detached unless options.opaque) whose one SignerInfo `key` signs with
/// one private-key operation; the signed attributes are those finish_signature() lists.
/// Shared by the in-memory and the streaming signer. Errors: Unsupported, Internal,
/// ModuleFailure.
base::Result<CmsPtr> build_signed_data(const SignedDataInput& input, EVP_PKEY* key, X509* signer,
                                       const std::vector<base::X509Ptr>& chain);

/// The digest for a hash name ("sha256", "sha384", "sha512"), or null.
const EVP_MD* hash_md(const std::string& hash);

/// ModuleFailure unless the (one) SignerInfo's signature over its signed attributes verifies
/// with its certificate: a faulty token's signature never leaves.
base::Status check_token_signature(CMS_ContentInfo* cms);

/// The micalg parameter for a hash name: "sha-256" (RFC 8551 §3.5.3.2).
std::string micalg_for(const std::string& hash);

}  // namespace keyfence::mail::smime
