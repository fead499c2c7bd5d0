#include "token/pkcs11/mechanisms.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "base/handles.hpp"
#include "base/openssl_error.hpp"

namespace keyfence::token::pkcs11 {
namespace {
// DER of an OpenSSL object through its i2d function, as bytes.
template <class T>
base::Result<std::vector<std::uint8_t>> to_der(int (*i2d)(const T*, unsigned char**),
                                               const T* object, const char* what) {
    unsigned char* der = nullptr;
    const int len = i2d(object, &der);
    if (len <= 0)
        return base::openssl_error(base::ErrorCode::Internal,
                                   std::string("could not encode ") + what);
    std::vector<std::uint8_t> out(der, der + len);
    OPENSSL_free(der);
    return out;
}
}  // namespace

std::string_view hash_name(Hash hash) {
    switch (hash) {
        case Hash::Sha256:
            return "sha256";
        case Hash::Sha384:
            return "sha384";
        case Hash::Sha512:
            return "sha512";
    }
    return "sha256";
}

std::size_t hash_size(Hash hash) {
    switch (hash) {
        case Hash::Sha256:
            return 32;
        case Hash::Sha384:
            return 48;
        case Hash::Sha512:
            return 64;
    }
    return 32;
}

const EVP_MD* hash_md(Hash hash) {
    switch (hash) {
        case Hash::Sha256:
            return EVP_sha256();
        case Hash::Sha384:
            return EVP_sha384();
        case Hash::Sha512:
            return EVP_sha512();
    }
    return EVP_sha256();
}

base::Result<Hash> parse_hash(std::string_view name) {
    if (name == "sha256") return Hash::Sha256;
    if (name == "sha384") return Hash::Sha384;
    if (name == "sha512") return Hash::Sha512;
    return base::Error(base::ErrorCode::Usage, "unknown hash '" + std::string(name) + "'",
                       "use sha256, sha384 or sha512");
}

base::Result<std::vector<std::uint8_t>> digest_info(Hash hash,
                                                    std::span<const std::uint8_t> digest) {
    base::X509SigPtr sig(X509_SIG_new());
    X509_ALGOR* alg = nullptr;
    ASN1_OCTET_STRING* octets = nullptr;
    X509_SIG_getm(sig.get(), &alg, &octets);
    const int nid = EVP_MD_get_type(hash_md(hash));
    // RFC 8017 §9.2 note 1: the parameters are an explicit NULL.
    if (X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL, nullptr) != 1 ||
        ASN1_OCTET_STRING_set(octets, digest.data(), static_cast<int>(digest.size())) != 1) {
        return base::openssl_error(base::ErrorCode::Internal, "could not build the DigestInfo");
    }
    return to_der(&i2d_X509_SIG, static_cast<const X509_SIG*>(sig.get()), "the DigestInfo");
}

CK_RSA_PKCS_PSS_PARAMS pss_params(Hash hash) {
    switch (hash) {
        case Hash::Sha256:
            return {CKM_SHA256, CKG_MGF1_SHA256, 32};
        case Hash::Sha384:
            return {CKM_SHA384, CKG_MGF1_SHA384, 48};
        case Hash::Sha512:
            return {CKM_SHA512, CKG_MGF1_SHA512, 64};
    }
    return {CKM_SHA256, CKG_MGF1_SHA256, 32};
}

base::Result<std::vector<std::uint8_t>> ecdsa_raw_to_der(std::span<const std::uint8_t> raw) {
    if (raw.empty() || raw.size() % 2 != 0) {
        return base::Error(base::ErrorCode::ModuleFailure,
                           "the token returned an ECDSA signature of odd length");
    }
    const int half = static_cast<int>(raw.size() / 2);
    base::EcdsaSigPtr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
    BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
    if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return base::openssl_error(base::ErrorCode::Internal,
                                   "could not encode the ECDSA signature");
    }
    return to_der(&i2d_ECDSA_SIG, static_cast<const ECDSA_SIG*>(sig.get()), "the ECDSA signature");
}

}  // namespace keyfence::token::pkcs11
