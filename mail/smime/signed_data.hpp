#pragma once
// One CMS SignedData checked SignerInfo by SignerInfo (RFC 5652 §5.6): each signature over its
// signed attributes, each messageDigest against the content, each signer's chain (RFC 8550) at
// the chosen time. Unlike CMS_verify, every SignerInfo gets its own verdict, so the report can
// say which one failed; none at all is no signature.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bio.h>

#include "base/result.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::mail::smime {

struct SignedDataCheck {
    std::vector<SignerResult> signers;
    std::string content;       ///< what the signatures cover: the detached bytes, or the eContent
    std::string problem_code;  ///< a structural reason the signature is unusable, or ""
    std::string problem;
};

/// Checks the SignedData in `der`. `detached` holds the content of a multipart/signed (its
/// first part, canonical); nullopt for an opaque signed-data, whose eContent is the content.
/// Errors: BadInput for bounds of docs/limits.md; a broken or unusual structure is a
/// `problem`, not an error.
base::Result<SignedDataCheck> check_signed_data(std::string_view der,
                                                const std::optional<std::string>& detached,
                                                const VerifyOptions& options);

/// As above for a multipart/signed whose content streams from `detached` (a BIO the caller
/// owns), so that a message of any size is checked in constant memory; the result's `content`
/// stays empty (whoever reads the BIO sees the content).
base::Result<SignedDataCheck> check_signed_data_streamed(std::string_view der, BIO* detached,
                                                         const VerifyOptions& options);

/// As above for an opaque signed-data read in one pass (stream_opaque.hpp): `der` is the
/// signature detached, and its content already went through `digests` (CMS_dataInit's digest
/// BIOs for the same digestAlgorithms); the result's `content` stays empty.
base::Result<SignedDataCheck> check_signed_data_digested(std::string_view der, BIO* digests,
                                                         const VerifyOptions& options);

/// The digest BIOs (CMS_dataInit, ending in a null sink) that a multipart/signed's content is
/// written through for check_signed_data_digested(), so that hashing can run on a thread of
/// its own; null when `der` is not a readable SignedData without content of its own (then
/// check_signed_data_streamed() says what is wrong).
base::BioPtr detached_digests(std::string_view der);

/// The ISO 8601 UTC form of `at`, or of now when it has no value.
std::string verification_time(const std::optional<std::int64_t>& at);

}  // namespace keyfence::mail::smime
