#include "token/pkcs11/objects.hpp"

#include <openssl/ec.h>

#include <algorithm>
#include <iterator>

#include "token/pkcs11/public_key.hpp"
#include "token/pkcs11/uri.hpp"
#include "token/roca.hpp"

namespace keyfence::token::pkcs11 {
namespace {

KeyAlgorithm algorithm_of(CK_KEY_TYPE type) {
    switch (type) {
        case CKK_RSA:
            return KeyAlgorithm::Rsa;
        case CKK_EC:
            return KeyAlgorithm::Ec;
        case CKK_EC_EDWARDS:
            return KeyAlgorithm::EdDsa;
        case CKK_EC_MONTGOMERY:
            return KeyAlgorithm::Montgomery;
        default:
            return KeyAlgorithm::Other;
    }
}

std::vector<CK_OBJECT_HANDLE> find_class(const Session& session, CK_OBJECT_CLASS object_class) {
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &object_class, sizeof object_class}};
    auto found = session.find(tmpl);
    return found ? std::move(*found) : std::vector<CK_OBJECT_HANDLE>{};
}

ObjectInfo read_common(const Session& session, const TokenInfo& token, CK_OBJECT_HANDLE handle,
                       ObjectKind kind, CK_OBJECT_CLASS object_class) {
    ObjectInfo object;
    object.kind = kind;
    object.handle = handle;
    if (auto id = session.attribute(handle, CKA_ID); id && *id) object.id = std::move(**id);
    if (auto label = session.attribute(handle, CKA_LABEL); label && *label) {
        object.label.assign((*label)->begin(), (*label)->end());
    }
    object.uri = format_object_uri(token.raw, object_class, object.id, object.label);
    return object;
}

void read_key_details(const Session& session, ObjectInfo& key) {
    const auto type = session.ulong_attribute(key.handle, CKA_KEY_TYPE);
    key.algorithm = type ? algorithm_of(*type) : KeyAlgorithm::Other;
    if (key.algorithm == KeyAlgorithm::Rsa) {
        if (auto modulus = session.attribute(key.handle, CKA_MODULUS); modulus && *modulus) {
            auto& m = **modulus;
            const auto first = std::find_if(m.begin(), m.end(), [](auto b) { return b != 0; });
            key.bits = static_cast<int>(std::distance(first, m.end())) * 8;
        } else if (auto bits = session.ulong_attribute(key.handle, CKA_MODULUS_BITS)) {
            key.bits = static_cast<int>(*bits);
        }
    } else if (key.algorithm != KeyAlgorithm::Other) {
        if (auto params = session.attribute(key.handle, CKA_EC_PARAMS); params && *params) {
            key.curve = curve_name(**params);
        }
    }
    switch (key.algorithm) {
        case KeyAlgorithm::Rsa:
            break;
        case KeyAlgorithm::Ec:
            if (key.curve.empty()) {
                key.supported = false;
                key.unsupported_reason = "the key's curve is not one OpenSSL knows";
            }
            break;
        case KeyAlgorithm::EdDsa:
        case KeyAlgorithm::Montgomery:
            key.supported = false;
            key.unsupported_reason =
                "Keyfence uses RSA and NIST-curve EC keys on PKCS#11 tokens; libp11 0.4.12, "
                "through which OpenSSL reaches token keys, has no EdDSA or X25519 support";
            break;
        default:
            key.supported = false;
            key.unsupported_reason = "the key type is not one Keyfence can use";
    }
}

void attach_public_key(ObjectInfo& key, EVP_PKEY* public_key, std::string source) {
    key.roca = has_roca_fingerprint(public_key);
    key.public_key = spki_der(public_key);
    key.public_key_sha256 = sha256_hex(key.public_key);
    key.public_key_source = std::move(source);
    if (key.bits == 0) key.bits = EVP_PKEY_get_bits(public_key);
}

// Algorithm, size and curve of a certificate's key, so that a key pair inferred from a
// certificate alone can still be described and checked against policy before login.
void describe_public_key(ObjectInfo& object, EVP_PKEY* public_key, std::string source) {
    switch (EVP_PKEY_get_base_id(public_key)) {
        case EVP_PKEY_RSA:
            object.algorithm = KeyAlgorithm::Rsa;
            break;
        case EVP_PKEY_EC: {
            object.algorithm = KeyAlgorithm::Ec;
            char group[64] = {};
            if (EVP_PKEY_get_utf8_string_param(public_key, "group", group, sizeof group, nullptr)) {
                const int nid = OBJ_sn2nid(group);
                const char* nist = EC_curve_nid2nist(nid);
                object.curve = nist != nullptr ? nist : group;
            }
            break;
        }
        case EVP_PKEY_ED25519:
            object.algorithm = KeyAlgorithm::EdDsa;
            object.curve = "Ed25519";
            break;
        case EVP_PKEY_ED448:
            object.algorithm = KeyAlgorithm::EdDsa;
            object.curve = "Ed448";
            break;
        default:
            object.algorithm = KeyAlgorithm::Other;
    }
    if (object.algorithm == KeyAlgorithm::EdDsa || object.algorithm == KeyAlgorithm::Other) {
        object.supported = false;
        object.unsupported_reason = "the key type is not one Keyfence can use on PKCS#11 tokens";
    }
    attach_public_key(object, public_key, std::move(source));
}
}  // namespace

std::string_view kind_name(ObjectKind kind) {
    switch (kind) {
        case ObjectKind::PrivateKey:
            return "private-key";
        case ObjectKind::PublicKey:
            return "public-key";
        case ObjectKind::Certificate:
            return "certificate";
    }
    return "private-key";
}

std::string_view algorithm_name(KeyAlgorithm alg) {
    switch (alg) {
        case KeyAlgorithm::Rsa:
            return "rsa";
        case KeyAlgorithm::Ec:
            return "ec";
        case KeyAlgorithm::EdDsa:
            return "eddsa";
        case KeyAlgorithm::Montgomery:
            return "montgomery";
        case KeyAlgorithm::Other:
            return "other";
        case KeyAlgorithm::None:
            return "none";
    }
    return "other";
}

void read_private_key(const Session& session, CK_OBJECT_HANDLE handle, ObjectInfo& key) {
    key.handle = handle;
    key.private_key_visible = true;
    key.usages_known = true;
    read_key_details(session, key);
    key.can_sign = session.bool_attribute(handle, CKA_SIGN, false);
    key.can_decrypt = session.bool_attribute(handle, CKA_DECRYPT, false) ||
                      session.bool_attribute(handle, CKA_UNWRAP, false);
    key.can_derive = session.bool_attribute(handle, CKA_DERIVE, false);
    key.always_authenticate = session.bool_attribute(handle, CKA_ALWAYS_AUTHENTICATE, false);
}

base::Result<TokenObjects> list_objects(const Session& session, const TokenInfo& token) {
    std::vector<ObjectInfo> certs;
    for (CK_OBJECT_HANDLE h : find_class(session, CKO_CERTIFICATE)) {
        ObjectInfo cert = read_common(session, token, h, ObjectKind::Certificate, CKO_CERTIFICATE);
        if (auto value = session.attribute(h, CKA_VALUE); value && *value) {
            if (auto summary = summarize_certificate(**value))
                cert.certificate = std::move(*summary);
        }
        if (cert.certificate) {
            if (auto pk = certificate_public_key(cert.certificate->der)) {
                describe_public_key(cert, pk->get(), "certificate");
            }
        }
        certs.push_back(std::move(cert));
    }
    std::vector<ObjectInfo> publics;
    for (CK_OBJECT_HANDLE h : find_class(session, CKO_PUBLIC_KEY)) {
        ObjectInfo pub = read_common(session, token, h, ObjectKind::PublicKey, CKO_PUBLIC_KEY);
        read_key_details(session, pub);
        if (pub.supported) {
            const CK_KEY_TYPE type = pub.algorithm == KeyAlgorithm::Rsa ? CKK_RSA : CKK_EC;
            if (auto key = public_key_from_object(session, h, type)) {
                attach_public_key(pub, key->get(), "public-key-object");
            }
        }
        publics.push_back(std::move(pub));
    }

    TokenObjects result;
    for (CK_OBJECT_HANDLE h : find_class(session, CKO_PRIVATE_KEY)) {
        ObjectInfo key = read_common(session, token, h, ObjectKind::PrivateKey, CKO_PRIVATE_KEY);
        read_private_key(session, h, key);
        result.keys.push_back(std::move(key));
    }
    // Tokens such as SoftHSM hide CKA_PRIVATE private keys until login: infer those key pairs
    // from their public key objects, then from certificates (PKCS#11 3.0 §4.6: by CKA_ID).
    for (const auto* group : {&publics, &certs}) {
        for (const ObjectInfo& o : *group) {
            if (o.id.empty() || o.algorithm == KeyAlgorithm::None) continue;
            const bool known = std::any_of(result.keys.begin(), result.keys.end(),
                                           [&](const ObjectInfo& k) { return k.id == o.id; });
            if (known) continue;
            ObjectInfo key = o;
            key.kind = ObjectKind::PrivateKey;
            key.handle = CK_INVALID_HANDLE;
            key.private_key_visible = false;
            key.usages_known = false;
            key.certificate.reset();
            key.uri = format_object_uri(token.raw, CKO_PRIVATE_KEY, key.id, key.label);
            result.keys.push_back(std::move(key));
        }
    }
    for (ObjectInfo& key : result.keys) {
        const auto same_id = [&](const ObjectInfo& o) { return !key.id.empty() && o.id == key.id; };
        if (auto cert = std::find_if(certs.begin(), certs.end(), same_id); cert != certs.end()) {
            key.certificate_uri = cert->uri;
            key.certificate = cert->certificate;
        }
        const auto pub = std::find_if(publics.begin(), publics.end(), same_id);
        if (pub != publics.end() && !pub->public_key.empty()) {
            key.public_key = pub->public_key;
            key.public_key_sha256 = pub->public_key_sha256;
            key.public_key_source = "public-key-object";
            key.roca = pub->roca;
        } else if (auto cert = std::find_if(certs.begin(), certs.end(), same_id);
                   cert != certs.end() && !cert->public_key.empty()) {
            key.public_key = cert->public_key;
            key.public_key_sha256 = cert->public_key_sha256;
            key.public_key_source = "certificate";
            key.roca = cert->roca;
        }
    }
    for (auto* group : {&publics, &certs}) {
        for (ObjectInfo& o : *group) {
            const bool paired =
                std::any_of(result.keys.begin(), result.keys.end(),
                            [&](const ObjectInfo& k) { return !o.id.empty() && k.id == o.id; });
            if (!paired) result.others.push_back(std::move(o));
        }
    }
    return result;
}

}  // namespace keyfence::token::pkcs11
