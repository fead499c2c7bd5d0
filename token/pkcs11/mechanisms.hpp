#pragma once
// Building PKCS#11 inputs and decoding outputs for digest signing.

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "token/pkcs11/pkcs11.hpp"

namespace keyfence::token::pkcs11 {

enum class Hash { Sha256, Sha384, Sha512 };

std::string_view hash_name(Hash hash);  ///< "sha256", ...
std::size_t hash_size(Hash hash);       ///< 32, 48, 64
const EVP_MD* hash_md(Hash hash);       ///< EVP_sha256(), ...
base::Result<Hash> parse_hash(std::string_view name);

/// The DER DigestInfo (RFC 8017 §9.2) that CKM_RSA_PKCS signs: algorithm identifier + digest.
base::Result<std::vector<std::uint8_t>> digest_info(Hash hash,
                                                    std::span<const std::uint8_t> digest);

/// CK_RSA_PKCS_PSS_PARAMS for `hash` with MGF1 of the same hash and a salt as long as the
/// digest (RFC 8017 §9.1; the length RFC 4056 and RFC 8551 expect).
CK_RSA_PKCS_PSS_PARAMS pss_params(Hash hash);

/// A PKCS#11 ECDSA signature (r || s, PKCS#11 3.0 §2.3.1) as a DER ECDSA-Sig-Value (RFC 3279).
base::Result<std::vector<std::uint8_t>> ecdsa_raw_to_der(std::span<const std::uint8_t> raw);

}  // namespace keyfence::token::pkcs11
