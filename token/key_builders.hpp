#pragma once
// Public keys from their raw parts, as tokens and cards deliver them.

#include <cstdint>
#include <span>
#include <string>

#include "base/handles.hpp"
#include "base/result.hpp"

namespace keyfence::token {

/// RSA public key from big-endian modulus and exponent.
base::Result<base::EvpPkeyPtr> rsa_public_key(std::span<const std::uint8_t> n,
                                              std::span<const std::uint8_t> e);
/// EC public key on `group` (OpenSSL short name: "prime256v1", "secp384r1"...) from an
/// uncompressed point.
base::Result<base::EvpPkeyPtr> ec_public_key(const std::string& group,
                                             std::span<const std::uint8_t> point);
/// Ed25519 / X25519 public key from its 32 raw bytes (`type`: "ED25519" or "X25519").
base::Result<base::EvpPkeyPtr> raw_public_key(const char* type,
                                              std::span<const std::uint8_t> bytes);

}  // namespace keyfence::token
