#pragma once
// An incremental BER reader for CMS EnvelopedData and AuthEnvelopedData in a file (RFC 5652
// §6, RFC 5083), for decrypting messages too large to hold: OpenSSL 3.0 parses a CMS structure
// only whole (d2i; openssl/openssl#26274). The structure is read element by element from the
// file; everything but the encrypted content (RecipientInfos, algorithm, tag, attributes: small)
// is re-encoded as a "skeleton" without the optional encryptedContent [0], which OpenSSL parses
// and decrypts as detached content fed through ciphertext_bio() (CMS_decrypt with dcont).

#include <openssl/bio.h>

#include <cstdint>
#include <string>

#include "base/handles.hpp"
#include "base/result.hpp"

namespace keyfence::mail::smime {

struct EnvelopedSkeleton {
    std::string der;                   ///< the ContentInfo without encryptedContent (DER)
    std::uint64_t content_offset = 0;  ///< of the encryptedContent [0] element in the file
    bool has_content = false;          ///< false: the structure carried no content
};

/// Reads the ContentInfo in the file at `path`. Errors: BadInput (not BER, not an enveloped
/// or auth-enveloped ContentInfo, an element other than the content over 16 MiB), Io.
base::Result<EnvelopedSkeleton> read_enveloped_skeleton(const std::string& path);

/// A source BIO that yields the octets of the encryptedContent [0] element at `offset` in the
/// file at `path` (primitive, or constructed of OCTET STRING segments, definite or indefinite
/// length), reading in pieces. Errors: Io. Reading fails (-1) on malformed segments.
base::Result<base::BioPtr> ciphertext_bio(const std::string& path, std::uint64_t offset);

}  // namespace keyfence::mail::smime
