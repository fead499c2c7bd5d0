// How the callbacks get the whole operation, padding and all (OpenSSL 3.0):
//
// A "foreign" RSA key (a custom RSA_METHOD) goes through OpenSSL's legacy EVP_PKEY_METHOD for
// RSA. For PKCS#1 v1.5 that reaches RSA_METHOD's rsa_sign with the digest and its type, but
// RSA-PSS is padded in software and reaches rsa_priv_enc with RSA_NO_PADDING, and RSA-OAEP is
// unpadded in software after an rsa_priv_dec with RSA_NO_PADDING: the token would have to do
// raw RSA (CKM_RSA_X_509, which tokens rightly refuse) and the agent would get no digest to
// show or audit. So RSA keys get their own EVP_PKEY_METHOD, handed out by a private ENGINE
// that is never registered anywhere (EVP_PKEY_set1_engine on our keys only, the way libp11
// attaches its methods): its sign and decrypt read the padding, the digest, the OAEP hash, the
// MGF1 hash and the label from the EVP_PKEY_CTX that CMS configured (RFC 4056, RFC 3560
// parameters), refuse anything the callbacks cannot express, and pass the digest or the
// ciphertext on. Everything else (ctrl, init, verify) is a copy of OpenSSL's own RSA method.
// The alternatives were an OpenSSL 3 provider (keymgmt, signature, asym-cipher and a keyexch
// with the X9.63 KDF: far more code for the same two hooks) and signing outside
// CMS_SignerInfo_sign (which covers signing only, not key transport).
//
// EC keys keep an EC_KEY_METHOD: ECDSA_sign hands it the digest, and ECDH_compute_key the peer
// point, while the KDF and the key unwrap of RFC 5753 stay in OpenSSL. Nothing is padded in
// software there, so no trap.
//
// ENGINE, EVP_PKEY_METHOD, RSA_METHOD and EC_KEY_METHOD are deprecated in OpenSSL 3.0 but
// supported through 3.x; libp11 0.4.12's keys rely on the same paths.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "mail/smime/delegated_key.hpp"

#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/rsa.h>

#include <cstring>
#include <type_traits>

namespace keyfence::mail::smime {
namespace {

std::string hash_name(int nid) {
    switch (nid) {
        case NID_sha256:
            return "sha256";
        case NID_sha384:
            return "sha384";
        case NID_sha512:
            return "sha512";
        default:
            return {};
    }
}

// Calls `fn`; a failure is kept in the delegate for delegated_error(). No exception may
// cross into OpenSSL's C code.
template <class Fn>
auto call(KeyDelegate* d, Fn fn) -> std::optional<std::remove_cvref_t<decltype(*fn())>> {
    try {
        auto result = fn();
        if (!result) {
            d->failure = result.error();
            return std::nullopt;
        }
        return std::move(*result);
    } catch (...) {
        d->failure = base::Error(base::ErrorCode::Internal, "a delegated key operation failed");
        return std::nullopt;
    }
}

// ---- RSA ----

int rsa_index() {
    static const int index = RSA_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

KeyDelegate* rsa_delegate(EVP_PKEY_CTX* ctx) {
    EVP_PKEY* pkey = EVP_PKEY_CTX_get0_pkey(ctx);
    const RSA* rsa = pkey != nullptr ? EVP_PKEY_get0_RSA(pkey) : nullptr;
    return rsa != nullptr ? static_cast<KeyDelegate*>(RSA_get_ex_data(rsa, rsa_index())) : nullptr;
}

// PSS as RFC 4056 §3 recommends and the token's CKM_RSA_PKCS_PSS is asked for: MGF1 with the
// message hash, salt as long as the hash.
bool pss_parameters_supported(EVP_PKEY_CTX* ctx, const EVP_MD* md) {
    const EVP_MD* mgf1 = nullptr;
    int salt = 0;
    return EVP_PKEY_CTX_get_rsa_mgf1_md(ctx, &mgf1) > 0 && mgf1 != nullptr &&
           EVP_MD_get_type(mgf1) == EVP_MD_get_type(md) &&
           EVP_PKEY_CTX_get_rsa_pss_saltlen(ctx, &salt) > 0 &&
           (salt == RSA_PSS_SALTLEN_DIGEST || salt == EVP_MD_get_size(md));
}

int rsa_sign(EVP_PKEY_CTX* ctx, unsigned char* sig, size_t* siglen, const unsigned char* tbs,
             size_t tbslen) {
    KeyDelegate* d = rsa_delegate(ctx);
    if (d == nullptr || !d->sign) return -1;
    const auto size = static_cast<std::size_t>(EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx)));
    if (sig == nullptr) {
        *siglen = size;
        return 1;
    }
    int padding = 0;
    const EVP_MD* md = nullptr;
    if (EVP_PKEY_CTX_get_rsa_padding(ctx, &padding) <= 0 ||
        EVP_PKEY_CTX_get_signature_md(ctx, &md) <= 0 || md == nullptr) {
        return -1;
    }
    const std::string hash = hash_name(EVP_MD_get_type(md));
    const bool pss = padding == RSA_PKCS1_PSS_PADDING;
    if (hash.empty() || tbslen != static_cast<std::size_t>(EVP_MD_get_size(md)) ||
        (!pss && padding != RSA_PKCS1_PADDING) || (pss && !pss_parameters_supported(ctx, md))) {
        return -1;
    }
    auto signature = call(d, [&] { return d->sign({hash, {tbs, tbslen}, pss}); });
    if (!signature || signature->size() > *siglen) return -1;
    std::memcpy(sig, signature->data(), signature->size());
    *siglen = signature->size();
    return 1;
}

// RFC 3560 / RFC 8017: OAEP with MGF1 over the same hash and an empty label is what the token
// (and the agent's "rsa-oaep-sha1" / "rsa-oaep-sha256") can do.
std::optional<KeyUnwrap> rsa_mechanism(EVP_PKEY_CTX* ctx) {
    int padding = 0;
    if (EVP_PKEY_CTX_get_rsa_padding(ctx, &padding) <= 0) return std::nullopt;
    if (padding == RSA_PKCS1_PADDING) return KeyUnwrap::RsaPkcs1;
    if (padding != RSA_PKCS1_OAEP_PADDING) return std::nullopt;
    const EVP_MD* md = nullptr;
    const EVP_MD* mgf1 = nullptr;
    unsigned char* label = nullptr;
    if (EVP_PKEY_CTX_get_rsa_oaep_md(ctx, &md) <= 0 || md == nullptr ||
        EVP_PKEY_CTX_get_rsa_mgf1_md(ctx, &mgf1) <= 0 || mgf1 == nullptr ||
        EVP_MD_get_type(mgf1) != EVP_MD_get_type(md) ||
        EVP_PKEY_CTX_get0_rsa_oaep_label(ctx, &label) > 0) {
        return std::nullopt;
    }
    if (EVP_MD_get_type(md) == NID_sha1) return KeyUnwrap::RsaOaepSha1;
    if (EVP_MD_get_type(md) == NID_sha256) return KeyUnwrap::RsaOaepSha256;
    return std::nullopt;
}

int rsa_decrypt(EVP_PKEY_CTX* ctx, unsigned char* out, size_t* outlen, const unsigned char* in,
                size_t inlen) {
    KeyDelegate* d = rsa_delegate(ctx);
    if (d == nullptr || !d->decrypt) return -1;
    if (out == nullptr) {
        *outlen = static_cast<std::size_t>(EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx)));
        return 1;
    }
    const auto mechanism = rsa_mechanism(ctx);
    if (!mechanism) return -1;
    auto plain = call(d, [&] { return d->decrypt(*mechanism, {in, inlen}); });
    if (!plain || plain->size() > *outlen) return 0;
    std::memcpy(out, plain->bytes().data(), plain->size());
    *outlen = plain->size();
    return 1;
}

const EVP_PKEY_METHOD* rsa_pkey_method() {
    static EVP_PKEY_METHOD* m = [] {
        EVP_PKEY_METHOD* created = EVP_PKEY_meth_new(EVP_PKEY_RSA, EVP_PKEY_FLAG_AUTOARGLEN);
        if (created == nullptr) return created;
        EVP_PKEY_meth_copy(created, EVP_PKEY_meth_find(EVP_PKEY_RSA));
        EVP_PKEY_meth_set_sign(created, nullptr, rsa_sign);
        EVP_PKEY_meth_set_decrypt(created, nullptr, rsa_decrypt);
        return created;
    }();
    return m;
}

int pkey_methods(ENGINE*, EVP_PKEY_METHOD** method, const int** nids, int nid) {
    static const int k_nids[] = {EVP_PKEY_RSA};
    if (method == nullptr) {
        *nids = k_nids;
        return 1;
    }
    *method = nid == EVP_PKEY_RSA ? const_cast<EVP_PKEY_METHOD*>(rsa_pkey_method()) : nullptr;
    return *method != nullptr ? 1 : 0;
}

ENGINE* delegating_engine() {
    static ENGINE* e = [] {
        ENGINE* created = ENGINE_new();
        if (created == nullptr || ENGINE_set_id(created, "keyfence-delegated") != 1 ||
            ENGINE_set_name(created, "Keyfence delegated keys") != 1 ||
            ENGINE_set_pkey_meths(created, pkey_methods) != 1) {
            ENGINE_free(created);
            return static_cast<ENGINE*>(nullptr);
        }
        return created;
    }();
    return e;
}

// Fail closed: should any path reach the RSA_METHOD instead of our EVP_PKEY_METHOD, there is
// no private key to use and nothing to pad in software.
int refuse_private(int, const unsigned char*, unsigned char*, RSA*, int) {
    return -1;
}

const RSA_METHOD* rsa_method() {
    static RSA_METHOD* m = [] {
        RSA_METHOD* created = RSA_meth_dup(RSA_PKCS1_OpenSSL());
        if (created == nullptr) return created;
        RSA_meth_set1_name(created, "Keyfence delegated RSA key");
        RSA_meth_set_priv_enc(created, refuse_private);
        RSA_meth_set_priv_dec(created, refuse_private);
        return created;
    }();
    return m;
}

base::Result<base::EvpPkeyPtr> delegated_rsa_key(const RSA* rsa, KeyDelegate* delegate) {
    base::Error failed(base::ErrorCode::Internal, "could not build the delegated RSA key");
    if (delegating_engine() == nullptr || rsa_method() == nullptr) return failed;
    RSA* copy = RSAPublicKey_dup(rsa);
    if (copy == nullptr || RSA_set_method(copy, rsa_method()) != 1 ||
        RSA_set_ex_data(copy, rsa_index(), delegate) != 1) {
        RSA_free(copy);
        return failed;
    }
    base::EvpPkeyPtr key(EVP_PKEY_new());
    if (!key || EVP_PKEY_assign_RSA(key.get(), copy) != 1) {
        RSA_free(copy);
        return failed;
    }
    if (EVP_PKEY_set1_engine(key.get(), delegating_engine()) != 1) return failed;
    return key;
}

// ---- EC ----

int ec_index() {
    static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

KeyDelegate* ec_delegate(const EC_KEY* key) {
    return static_cast<KeyDelegate*>(EC_KEY_get_ex_data(key, ec_index()));
}

ECDSA_SIG* sign_sig(const unsigned char* digest, int length, const BIGNUM*, const BIGNUM*,
                    EC_KEY* key) {
    KeyDelegate* d = ec_delegate(key);
    if (d == nullptr || !d->sign || length <= 0) return nullptr;
    // ECDSA_sign gives no hash, only the digest; its length names the SHA-2 hash (the CMS
    // code hashes with SHA-256, SHA-384 or SHA-512 only, sign.cpp).
    const auto n = static_cast<std::size_t>(length);
    const std::string hash = n == 64 ? "sha512" : n == 48 ? "sha384" : "sha256";
    auto signature = call(d, [&] { return d->sign({hash, {digest, n}, false}); });
    if (!signature) return nullptr;
    const unsigned char* p = signature->data();
    return d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature->size()));
}

int sign(int, const unsigned char* digest, int length, unsigned char* out, unsigned int* out_len,
         const BIGNUM* kinv, const BIGNUM* r, EC_KEY* key) {
    ECDSA_SIG* sig = sign_sig(digest, length, kinv, r, key);
    if (sig == nullptr) return 0;
    unsigned char* p = out;
    const int n = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    if (n <= 0) return 0;
    *out_len = static_cast<unsigned int>(n);
    return 1;
}

// RFC 5753 §3.1: the token derives Z (the x coordinate); OpenSSL runs the X9.63 KDF and the
// key unwrap over it. The secret is allocated for ECDH_compute_key, which clears and frees it.
int compute_key(unsigned char** secret, size_t* secret_length, const EC_POINT* peer,
                const EC_KEY* key) {
    KeyDelegate* d = ec_delegate(key);
    if (d == nullptr || !d->decrypt) return 0;
    const EC_GROUP* group = EC_KEY_get0_group(key);
    const std::size_t n =
        EC_POINT_point2oct(group, peer, POINT_CONVERSION_UNCOMPRESSED, nullptr, 0, nullptr);
    std::vector<std::uint8_t> point(n);
    if (n == 0 || EC_POINT_point2oct(group, peer, POINT_CONVERSION_UNCOMPRESSED, point.data(), n,
                                     nullptr) != n) {
        return 0;
    }
    auto shared = call(d, [&] { return d->decrypt(KeyUnwrap::Ecdh, point); });
    if (!shared || shared->empty()) return 0;
    auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(shared->size()));
    if (copy == nullptr) return 0;
    std::memcpy(copy, shared->bytes().data(), shared->size());
    *secret = copy;
    *secret_length = shared->size();
    return 1;
}

const EC_KEY_METHOD* ec_method() {
    static EC_KEY_METHOD* m = [] {
        EC_KEY_METHOD* created = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
        if (created == nullptr) return created;
        EC_KEY_METHOD_set_sign(created, sign, nullptr, sign_sig);
        EC_KEY_METHOD_set_compute_key(created, compute_key);
        return created;
    }();
    return m;
}

base::Result<base::EvpPkeyPtr> delegated_ec_key(const EC_KEY* ec, KeyDelegate* delegate) {
    base::Error failed(base::ErrorCode::Internal, "could not build the delegated EC key");
    EC_KEY* copy = EC_KEY_dup(ec);
    if (copy == nullptr || ec_method() == nullptr || EC_KEY_set_method(copy, ec_method()) != 1 ||
        EC_KEY_set_ex_data(copy, ec_index(), delegate) != 1) {
        EC_KEY_free(copy);
        return failed;
    }
    base::EvpPkeyPtr key(EVP_PKEY_new());
    if (!key || EVP_PKEY_assign_EC_KEY(key.get(), copy) != 1) {
        EC_KEY_free(copy);
        return failed;
    }
    return key;
}
}  // namespace

base::Result<base::EvpPkeyPtr> delegated_key(EVP_PKEY* public_key, KeyDelegate* delegate) {
    if (public_key != nullptr && EVP_PKEY_get_base_id(public_key) == EVP_PKEY_RSA) {
        if (const RSA* rsa = EVP_PKEY_get0_RSA(public_key)) {
            return delegated_rsa_key(rsa, delegate);
        }
    }
    if (public_key != nullptr && EVP_PKEY_get_base_id(public_key) == EVP_PKEY_EC) {
        if (const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(public_key)) {
            return delegated_ec_key(ec, delegate);
        }
    }
    return base::Error(base::ErrorCode::Unsupported,
                       "S/MIME on a token key needs an RSA or EC key");
}

base::Error delegated_error(const KeyDelegate& delegate, base::Error fallback) {
    if (!delegate.failure) return fallback;
    // An allow-list: only errors that cannot depend on the data (the PIN, the user, the token's
    // presence, the policy, the agent's connection) keep their own code. Anything the token or
    // the module may say about a ciphertext or a peer point (BadInput, ModuleFailure,
    // Unsupported, ...) becomes `fallback`, as it does when libp11's key fails in OpenSSL.
    using base::ErrorCode;
    switch (delegate.failure->code) {
        case ErrorCode::Usage:
        case ErrorCode::PinIncorrect:
        case ErrorCode::PinLocked:
        case ErrorCode::LastTryRefused:
        case ErrorCode::PinInvalid:
        case ErrorCode::TokenAbsent:
        case ErrorCode::TokenRemoved:
        case ErrorCode::KeyNotFound:
        case ErrorCode::Ambiguous:
        case ErrorCode::Cancelled:
        case ErrorCode::PolicyDenied:
        case ErrorCode::Io:
            return *delegate.failure;
        default:
            return fallback;
    }
}

}  // namespace keyfence::mail::smime
