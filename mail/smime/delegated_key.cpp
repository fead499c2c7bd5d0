// The EC_KEY_METHOD API is deprecated in OpenSSL 3.0 but is what makes a "foreign" key that
// the CMS code signs with through our callback (libp11 builds its keys the same way).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "mail/smime/delegated_key.hpp"

#include <openssl/ec.h>

namespace keyfence::mail::smime {
namespace {

int signer_index() {
    static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

ECDSA_SIG* sign_sig(const unsigned char* digest, int length, const BIGNUM*, const BIGNUM*,
                    EC_KEY* key) {
    auto* signer = static_cast<DigestSigner*>(EC_KEY_get_ex_data(key, signer_index()));
    if (signer == nullptr || length <= 0) return nullptr;
    // No exception may cross into OpenSSL's C code.
    try {
        auto signature = (*signer)({digest, static_cast<std::size_t>(length)});
        if (!signature) return nullptr;
        const unsigned char* p = signature->data();
        return d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature->size()));
    } catch (...) {
        return nullptr;
    }
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

const EC_KEY_METHOD* method() {
    static EC_KEY_METHOD* m = [] {
        EC_KEY_METHOD* created = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
        EC_KEY_METHOD_set_sign(created, sign, nullptr, sign_sig);
        return created;
    }();
    return m;
}
}  // namespace

base::Result<base::EvpPkeyPtr> delegated_ec_key(EVP_PKEY* public_key, DigestSigner* signer) {
    const EC_KEY* ec = public_key != nullptr ? EVP_PKEY_get0_EC_KEY(public_key) : nullptr;
    if (ec == nullptr) {
        return base::Error(base::ErrorCode::Unsupported,
                           "only EC keys that need a PIN for every signature can sign S/MIME");
    }
    EC_KEY* copy = EC_KEY_dup(ec);
    if (copy == nullptr || EC_KEY_set_method(copy, method()) != 1 ||
        EC_KEY_set_ex_data(copy, signer_index(), signer) != 1) {
        EC_KEY_free(copy);
        return base::Error(base::ErrorCode::Internal, "could not build the delegated key");
    }
    base::EvpPkeyPtr key(EVP_PKEY_new());
    if (!key || EVP_PKEY_assign_EC_KEY(key.get(), copy) != 1) {
        EC_KEY_free(copy);
        return base::Error(base::ErrorCode::Internal, "could not build the delegated key");
    }
    return key;
}

}  // namespace keyfence::mail::smime
