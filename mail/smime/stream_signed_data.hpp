#pragma once
// Opaque SignedData (RFC 5652 §5.1, RFC 8551 §3.5.2) written around content that streams past,
// in BER with indefinite lengths (as OpenSSL's own streaming output, i2d_CMS_bio_stream):
//   head()                  ContentInfo, SignedData, version, digestAlgorithms, encapContentInfo
//                           id-data, [0], constructed OCTET STRING
//   segment_header(n) + n   the content, in primitive OCTET STRING segments
//   tail(detached DER)      end-of-contents, then the certificates and SignerInfos of the same
//                           signature built detached (after the token signed), end-of-contents
// What is known before the content (version, digestAlgorithms) is checked against the detached
// structure, so the output is exactly the structure OpenSSL signed, with the content inside.

#include <openssl/evp.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace keyfence::mail::smime {

/// Everything before the content's first segment, for content hashed with `md`. Errors:
/// Internal.
base::Result<std::string> opaque_signed_data_head(const EVP_MD* md);

/// The header of one primitive OCTET STRING segment of `size` octets (DER length).
std::string octet_segment_header(std::size_t size);

/// Everything after the content's last segment, taken from `detached` (the DER ContentInfo of
/// the same signature without content). Errors: Internal when `detached` is not a detached
/// SignedData whose version and digestAlgorithms are those `head` wrote.
base::Result<std::string> opaque_signed_data_tail(std::string_view detached, std::string_view head);

}  // namespace keyfence::mail::smime
