#pragma once
// An incremental BER reader for CMS EnvelopedData, AuthEnvelopedData and SignedData in a file
// (RFC 5652 §5 and §6, RFC 5083), for messages too large to hold: OpenSSL 3.0 parses a CMS
// structure only whole (d2i; openssl/openssl#26274). The structure is read element by element
// from the file; everything but the content (RecipientInfos, algorithm, tag, attributes,
// certificates, SignerInfos: small) is re-encoded as a "skeleton" without the content, which
// OpenSSL parses and then decrypts or verifies as detached content fed through content_bio()
// (CMS_decrypt with dcont; the digests of a detached signature).

#include <openssl/bio.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/handles.hpp"
#include "base/result.hpp"

namespace keyfence::mail::smime {

struct CmsSkeleton {
    std::string der;                   ///< the ContentInfo without its content (DER)
    std::uint64_t content_offset = 0;  ///< of the content's element in the file
    bool has_content = false;          ///< false: the structure carried no content
};
using EnvelopedSkeleton = CmsSkeleton;

/// The DER element of `tag` with `content` (X.690 §10.1: definite length), for skeletons.
std::string der_element(std::uint8_t tag, std::string_view content);

/// Reads the ContentInfo in the file at `path`. Errors: BadInput (not BER, not an enveloped
/// or auth-enveloped ContentInfo, an element other than the content over 16 MiB), Io.
base::Result<EnvelopedSkeleton> read_enveloped_skeleton(const std::string& path);

/// Reads the SignedData ContentInfo in the file at `path`: the skeleton is the same signature
/// detached (encapContentInfo without eContent), content_offset the eContent's OCTET STRING.
/// Errors: BadInput (not BER, not a signed-data ContentInfo, an element other than the content
/// over 16 MiB), Io.
base::Result<CmsSkeleton> read_signed_skeleton(const std::string& path);

/// A source BIO that yields the octets of the encryptedContent [0] element at `offset` in the
/// file at `path` (primitive, or constructed of OCTET STRING segments, definite or indefinite
/// length), reading in pieces. Errors: Io. Reading fails (-1) on malformed segments.
base::Result<base::BioPtr> ciphertext_bio(const std::string& path, std::uint64_t offset);

/// ciphertext_bio() for any content element (an eContent OCTET STRING too); every byte read is
/// also handed to `tee` when set.
base::Result<base::BioPtr> content_bio(const std::string& path, std::uint64_t offset,
                                       std::function<void(std::string_view)> tee = {});

}  // namespace keyfence::mail::smime
