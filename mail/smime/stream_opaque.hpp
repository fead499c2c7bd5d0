#pragma once
// Opaque signed-data (RFC 8551 §3.5.2) in a file, read in one pass: the base64 part is decoded
// in large blocks (Base64Decoder) and walked as it is decoded by a push BER reader, without a
// temporary file. The eContent's octets go to OpenSSL's digest BIOs for the SignedData's
// digestAlgorithms (CMS_dataInit over the part of the structure that precedes the content) on a
// second thread, and on to `tee`; everything else (small: certificates, SignerInfos) is kept
// and re-encoded as the same signature detached, as read_signed_skeleton() does for a file
// (stream_der.hpp). CMS_SignerInfo_verify_content() then checks each SignerInfo against those
// digests (signed_data.hpp, check_signed_data_digested). Memory: the small elements (each at
// most 16 MiB, as stream_der), a few 1 MiB blocks.

#include <gmime/gmime.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/smime/cms_handles.hpp"

namespace keyfence::mail::smime {

struct StreamedSignedData {
    std::string der;  ///< the ContentInfo as a detached signature (no eContent)
    /// The content's digests: the digest BIOs of CMS_dataInit, fed the eContent. Null when
    /// `unreadable` is set.
    base::BioPtr digests;
    CmsPtr head;  ///< the structure before the content, whose CMS_dataInit made `digests`
    /// Set when the structure broke after its content had begun (and had gone to `tee`): why.
    std::string unreadable;
};

/// Reads the opaque signed-data whose base64 text `wrapper` holds (the part's content, as
/// GMime's parser left it in the file). nullopt, before anything went to `tee`, when this
/// reader does not take it: not base64, not a signed-data ContentInfo with an eContent OCTET
/// STRING, digest algorithms OpenSSL does not know; the caller then checks it as before.
/// Errors: Io, Internal.
base::Result<std::optional<StreamedSignedData>> stream_opaque_signed_data(
    GMimeDataWrapper* wrapper, const std::function<void(std::string_view)>& tee);

}  // namespace keyfence::mail::smime
