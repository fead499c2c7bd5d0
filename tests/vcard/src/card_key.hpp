// Private-key operations of the card on OpenSSL 3 EVP keys (no deprecated RSA_/EC_KEY API).
// All functions are thread-compatible and return empty on any OpenSSL failure.
#pragma once

#include "algorithm_attributes.hpp"
#include "bytes.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace keyfence::vcard {

/// Generates a key pair matching `attrs` (RSA e = 65537). Null on failure.
EvpPkeyPtr generate_key(const AlgorithmAttributes& attrs);

/// True when `key` is of the type, size or curve `attrs` describes.
bool key_matches_attributes(const EVP_PKEY* key, const AlgorithmAttributes& attrs);

/// Public key template 7F49 (OpenPGP card 3.4 §7.2.14): RSA { 81 n, 82 e },
/// ECC { 86 point } (04||X||Y for NIST curves, 32 raw bytes for Ed25519/X25519).
std::optional<Bytes> public_key_template(const EVP_PKEY* key, const AlgorithmAttributes& attrs);

/// PSO:COMPUTE DIGITAL SIGNATURE / INTERNAL AUTHENTICATE (§7.2.10, §7.2.13):
/// RSA: PKCS#1 v1.5 block type 1 over the given DigestInfo; ECDSA: raw hash in,
/// r||s out (each padded to the field size); EdDSA: signs `input` as the message.
std::optional<Bytes> card_sign(EVP_PKEY* key, const AlgorithmAttributes& attrs, ByteView input);

/// RSA PKCS#1 v1.5 decryption of a cryptogram (without the leading padding indicator).
std::optional<Bytes> rsa_decrypt(EVP_PKEY* key, ByteView cryptogram);

/// ECDH with the peer point (NIST: 04||X||Y; X25519: 32 bytes, optionally 40-prefixed).
/// Returns the shared secret: the x-coordinate (NIST) or the X25519 output.
std::optional<Bytes> ecdh_shared_secret(EVP_PKEY* key, const AlgorithmAttributes& attrs,
                                        ByteView peer_point);

/// Unencrypted PKCS#8 PEM (test card: stored in clear by design).
std::optional<std::string> private_key_pem(const EVP_PKEY* key);

/// Reads PKCS#8 PEM; null on failure.
EvpPkeyPtr private_key_from_pem(std::string_view pem);

/// Builds a private key from the key import template parts (§4.4.3.12): tag → value of
/// 91 e, 92 p (RSA) or private scalar (ECC), 93 q, optional 97 n / 99 public key.
/// Null if parts are missing, inconsistent or do not match `attrs`.
EvpPkeyPtr import_private_key(const AlgorithmAttributes& attrs,
                              const std::map<std::uint32_t, Bytes>& parts);

}  // namespace keyfence::vcard
