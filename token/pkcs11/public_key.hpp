#pragma once
// Public keys and certificates from token attributes, as OpenSSL objects.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "token/pkcs11/objects.hpp"

namespace keyfence::token::pkcs11 {

/// Name of the curve in a DER CKA_EC_PARAMS ("P-256", "Ed25519", ...); empty when unknown.
std::string curve_name(std::span<const std::uint8_t> ec_params);

/// The public key of an RSA or EC public-key object, as an EVP_PKEY.
base::Result<base::EvpPkeyPtr> public_key_from_object(const Session& session,
                                                      CK_OBJECT_HANDLE object, CK_KEY_TYPE type);

/// Parses a DER certificate into a summary, and its public key.
base::Result<CertificateSummary> summarize_certificate(std::span<const std::uint8_t> der);
base::Result<base::EvpPkeyPtr> certificate_public_key(std::span<const std::uint8_t> der);

/// SubjectPublicKeyInfo DER of `key`; and back.
std::vector<std::uint8_t> spki_der(EVP_PKEY* key);
base::Result<base::EvpPkeyPtr> public_key_from_spki(std::span<const std::uint8_t> der);

/// Hex SHA-256 of `bytes`.
std::string sha256_hex(std::span<const std::uint8_t> bytes);

}  // namespace keyfence::token::pkcs11
