#pragma once
// The head of an (Auth)EnvelopedData (RFC 5652 §6.1, RFC 5083 §2.1): everything up to the
// encrypted content — version, originatorInfo, RecipientInfos, the content type and algorithm —
// which comes before the content in the encoding. Enough to tell which keys a message is
// encrypted to without decoding the rest of it: `mail open` picks its key from the first few
// KiB of a message of gigabytes.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "base/result.hpp"
#include "mail/mime/gmime.hpp"

namespace keyfence::mail::smime {

/// The most of a decoded envelope read before its encrypted content (docs/limits.md).
inline constexpr std::size_t k_max_envelope_head = 16u << 20;

/// From `prefix`, the first bytes of a BER ContentInfo: a DER ContentInfo holding the same
/// head and no encrypted content (for AuthEnvelopedData an empty mac), for reading the
/// RecipientInfos with OpenSSL — never for decrypting. nullopt while `prefix` ends before the
/// content encryption algorithm. Errors: BadInput (not BER, not enveloped or auth-enveloped).
base::Result<std::optional<std::string>> envelope_head_skeleton(std::string_view prefix);

/// Which of `candidates` (certificates) a RecipientInfo of the encrypted S/MIME part `part`
/// names, as indexes in order. Decodes only the head of the part. Errors: BadInput (not an
/// encrypted part, a head over k_max_envelope_head, the bounds of cms_limits.hpp).
base::Result<std::vector<std::size_t>> recipients_among(GMimeObject* part,
                                                        const std::vector<X509*>& candidates);

}  // namespace keyfence::mail::smime
