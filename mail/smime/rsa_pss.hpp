#pragma once
// The RSASSA-PSS AlgorithmIdentifier for a SignerInfo (RFC 4056 §3). OpenSSL 3.0 writes it only
// inside CMS_final(), which would also hash the content again; Keyfence signs a digest it has
// already computed, so it writes the identifier itself.

#include <openssl/cms.h>

#include "base/result.hpp"

namespace keyfence::mail::smime {

/// Sets `si`'s signatureAlgorithm to id-RSASSA-PSS with hash `md`, MGF1 over `md` and a salt as
/// long as the hash (RFC 4056 §3: the parameters Keyfence's token signature uses).
/// Errors: Internal.
base::Status set_pss_algorithm(CMS_SignerInfo* si, const EVP_MD* md);

}  // namespace keyfence::mail::smime
