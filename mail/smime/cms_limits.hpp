#pragma once
// Keyfence's bounds on CMS structures (docs/limits.md): beyond them a structure is refused
// with ErrorCode::BadInput (exit 7) before any signature is checked or key is used.

#include <cstddef>

#include "base/result.hpp"
#include "mail/smime/cms_handles.hpp"

namespace keyfence::mail::smime {

struct CmsLimits {
    int max_signer_infos = 16;  ///< SignerInfos of one SignedData
    int max_certificates = 64;  ///< certificates carried in one SignedData
    int max_recipients = 256;   ///< RecipientInfos (and ECDH recipient keys) of one envelope
};

inline constexpr CmsLimits k_cms_limits{};

/// Checks the counts of `cms` (SignedData, EnvelopedData or AuthEnvelopedData; other types
/// pass). Errors: BadInput naming the bound.
base::Status check_cms_limits(CMS_ContentInfo* cms, const CmsLimits& limits = k_cms_limits);

}  // namespace keyfence::mail::smime
