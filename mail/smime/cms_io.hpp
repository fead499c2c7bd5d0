#pragma once
// CMS ContentInfo to and from DER, with errors a user can read.

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "mail/smime/cms_handles.hpp"

namespace keyfence::mail::smime {

/// The DER encoding of `cms`. Errors: Internal.
base::Result<std::string> cms_to_der(CMS_ContentInfo* cms);

/// Parses DER (BER) bytes as a CMS ContentInfo; trailing bytes are refused. Errors: BadInput.
base::Result<CmsPtr> cms_from_der(std::string_view der);

}  // namespace keyfence::mail::smime
