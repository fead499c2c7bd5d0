#pragma once
// The objects on a token, read through the module's function list: private keys, public keys
// and certificates, with algorithm, usages, the key's certificate (matched by CKA_ID) and the
// key's public key (from its public-key object, else from its certificate).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "token/pkcs11/session.hpp"

namespace keyfence::token::pkcs11 {

enum class ObjectKind { PrivateKey, PublicKey, Certificate };
enum class KeyAlgorithm { Rsa, Ec, EdDsa, Montgomery, Other, None };

std::string_view kind_name(ObjectKind kind);        ///< "private-key", "public-key", "certificate"
std::string_view algorithm_name(KeyAlgorithm alg);  ///< "rsa", "ec", "eddsa", ...

struct CertificateSummary {
    std::string subject;
    std::string issuer;
    std::string not_before;  ///< ISO 8601 UTC
    std::string not_after;
    std::vector<std::string> emails;  ///< subjectAltName rfc822Name and subject emailAddress
    std::string sha256;               ///< fingerprint of the DER certificate, hex
    std::vector<std::uint8_t> der;
};

struct ObjectInfo {
    ObjectKind kind = ObjectKind::PrivateKey;
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;  ///< valid only within the listing session
    std::vector<std::uint8_t> id;
    std::string label;
    std::string uri;
    KeyAlgorithm algorithm = KeyAlgorithm::None;
    int bits = 0;       ///< RSA modulus bits, or the curve's field size
    std::string curve;  ///< "P-256", "P-384", "Ed25519", ... for EC/EdDSA
    bool can_sign = false;
    bool can_decrypt = false;
    bool can_derive = false;
    bool always_authenticate = false;
    bool private_key_visible = true;  ///< false: inferred from a public key or certificate;
                                      ///< the token shows the private key only after login
    bool usages_known = true;         ///< false until the private key itself has been read
    bool supported = true;            ///< false: listed, but Keyfence cannot use it (see reason)
    bool roca = false;                ///< an RSA modulus with the ROCA fingerprint (token/roca.hpp)
    std::string unsupported_reason;
    std::string certificate_uri;                    ///< private keys: the matching certificate
    std::string public_key_source;                  ///< "public-key-object", "certificate" or ""
    std::vector<std::uint8_t> public_key;           ///< SubjectPublicKeyInfo DER, when known
    std::string public_key_sha256;                  ///< SHA-256 of the SPKI DER, hex
    std::optional<CertificateSummary> certificate;  ///< certificates, and keys with one
};

struct TokenObjects {
    /// One entry per key pair: the private key object where the token shows it before login,
    /// otherwise inferred from a public key or certificate (private_key_visible=false).
    std::vector<ObjectInfo> keys;
    /// Public keys and certificates that belong to no key pair (CA certificates, say).
    std::vector<ObjectInfo> others;
};

/// Lists every object visible now. Keys of types Keyfence cannot use are listed with
/// supported=false instead of failing the listing (libp11 0.4.12 fails the whole token).
base::Result<TokenObjects> list_objects(const Session& session, const TokenInfo& token);

/// Reads a private key object's algorithm, usages and always-authenticate flag into `key`.
void read_private_key(const Session& session, CK_OBJECT_HANDLE handle, ObjectInfo& key);

}  // namespace keyfence::token::pkcs11
