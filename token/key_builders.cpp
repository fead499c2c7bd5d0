#include "token/key_builders.hpp"

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "base/openssl_error.hpp"

namespace keyfence::token {
namespace {
using ParamBldPtr = base::CPtr<OSSL_PARAM_BLD, &OSSL_PARAM_BLD_free>;
using ParamPtr = base::CPtr<OSSL_PARAM, &OSSL_PARAM_free>;

base::Result<base::EvpPkeyPtr> from_params(const char* type, OSSL_PARAM_BLD* bld) {
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* key = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
        return base::openssl_error(base::ErrorCode::BadInput,
                                   "the token's public key is malformed");
    }
    return base::EvpPkeyPtr(key);
}
}  // namespace

base::Result<base::EvpPkeyPtr> rsa_public_key(std::span<const std::uint8_t> n,
                                              std::span<const std::uint8_t> e) {
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    base::BignumPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
    base::BignumPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
    if (!bld || !bn_n || !bn_e || n.empty() || e.empty()) {
        return base::Error(base::ErrorCode::BadInput, "the RSA public key is incomplete");
    }
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
    return from_params("RSA", bld.get());
}

base::Result<base::EvpPkeyPtr> ec_public_key(const std::string& group,
                                             std::span<const std::uint8_t> point) {
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                     point.size());
    return from_params("EC", bld.get());
}

base::Result<base::EvpPkeyPtr> raw_public_key(const char* type,
                                              std::span<const std::uint8_t> bytes) {
    base::EvpPkeyPtr key(
        EVP_PKEY_new_raw_public_key_ex(nullptr, type, nullptr, bytes.data(), bytes.size()));
    if (!key) return base::openssl_error(base::ErrorCode::BadInput, "the public key is malformed");
    return key;
}

}  // namespace keyfence::token
