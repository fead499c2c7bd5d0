// Key import from the private key template parts (OpenPGP card 3.4 §4.4.3.12).
#include "card_key.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <array>

namespace keyfence::vcard {
namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, CFree<&OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, CFree<&OSSL_PARAM_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, CFree<&BN_CTX_free>>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, CFree<&EC_GROUP_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, CFree<&EC_POINT_free>>;

const Bytes* part(const std::map<std::uint32_t, Bytes>& parts, std::uint32_t tag) {
    auto it = parts.find(tag);
    return it == parts.end() || it->second.empty() ? nullptr : &it->second;
}

BignumPtr to_bn(const Bytes& b) {
    return BignumPtr(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
}

EvpPkeyPtr from_params(const char* type, OSSL_PARAM_BLD* bld) {
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* out = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_KEYPAIR, params.get()) != 1) {
        return nullptr;
    }
    return EvpPkeyPtr(out);
}

// RSA from e, p, q: n = pq, d = e^-1 mod (p-1)(q-1), CRT values derived (PKCS #1 §3.2).
EvpPkeyPtr import_rsa(const std::map<std::uint32_t, Bytes>& parts) {
    const Bytes* e_raw = part(parts, 0x91);
    const Bytes* p_raw = part(parts, 0x92);
    const Bytes* q_raw = part(parts, 0x93);
    if (!e_raw || !p_raw || !q_raw) return nullptr;
    BnCtxPtr bn_ctx(BN_CTX_new());
    BignumPtr e = to_bn(*e_raw), p = to_bn(*p_raw), q = to_bn(*q_raw);
    BignumPtr n(BN_new()), d(BN_new()), p1(BN_new()), q1(BN_new()), phi(BN_new());
    BignumPtr dp(BN_new()), dq(BN_new()), qinv(BN_new());
    if (!bn_ctx || !e || !p || !q || !n || !d || !p1 || !q1 || !phi || !dp || !dq || !qinv) {
        return nullptr;
    }
    if (!BN_mul(n.get(), p.get(), q.get(), bn_ctx.get()) ||
        !BN_sub(p1.get(), p.get(), BN_value_one()) || !BN_sub(q1.get(), q.get(), BN_value_one()) ||
        !BN_mul(phi.get(), p1.get(), q1.get(), bn_ctx.get()) ||
        !BN_mod_inverse(d.get(), e.get(), phi.get(), bn_ctx.get()) ||
        !BN_mod(dp.get(), d.get(), p1.get(), bn_ctx.get()) ||
        !BN_mod(dq.get(), d.get(), q1.get(), bn_ctx.get()) ||
        !BN_mod_inverse(qinv.get(), q.get(), p.get(), bn_ctx.get())) {
        return nullptr;
    }
    if (const Bytes* n_given = part(parts, 0x97)) {
        BignumPtr n2 = to_bn(*n_given);
        if (!n2 || BN_cmp(n2.get(), n.get()) != 0) return nullptr;
    }
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, p.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, q.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv.get())) {
        return nullptr;
    }
    return from_params("RSA", bld.get());
}

// NIST curve key from the private scalar; the public point is recomputed (d·G).
EvpPkeyPtr import_nist(const AlgorithmAttributes& attrs, const Bytes& scalar) {
    int nid = attrs.curve == Curve::P384 ? NID_secp384r1 : NID_X9_62_prime256v1;
    BnCtxPtr bn_ctx(BN_CTX_new());
    EcGroupPtr group(EC_GROUP_new_by_curve_name(nid));
    BignumPtr d = to_bn(scalar);
    if (!bn_ctx || !group || !d || BN_is_zero(d.get()) ||
        BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
        return nullptr;
    }
    EcPointPtr pub(EC_POINT_new(group.get()));
    if (!pub || !EC_POINT_mul(group.get(), pub.get(), d.get(), nullptr, nullptr, bn_ctx.get())) {
        return nullptr;
    }
    Bytes point(1 + 2 * attrs.field_bytes());
    if (EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, point.data(),
                           point.size(), bn_ctx.get()) != point.size()) {
        return nullptr;
    }
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                         attrs.curve == Curve::P384 ? "P-384" : "P-256", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) ||
        !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size())) {
        return nullptr;
    }
    return from_params("EC", bld.get());
}

// Ed25519/X25519 from 32 raw bytes. Ed25519 seeds are byte strings and taken as sent.
// X25519: OpenPGP keeps Curve25519 secrets as big-endian MPIs and GnuPG (2.2.40
// keytocard, checked by keygrip) sends them that way, while the native X25519 scalar is
// little-endian (RFC 7748 §5): so reverse first. If the client also sent the public key
// (99), the byte order whose public key matches wins.
EvpPkeyPtr import_25519(const AlgorithmAttributes& attrs, Bytes scalar, const Bytes* pub) {
    int type = attrs.curve == Curve::Ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519;
    if (scalar.size() > 32) return nullptr;
    scalar.insert(scalar.begin(), 32 - scalar.size(), 0);  // MPI may drop leading zeros
    Bytes reversed(scalar.rbegin(), scalar.rend());
    Bytes want;
    if (pub) {
        want = *pub;
        if (want.size() == 33 && want[0] == 0x40) want.erase(want.begin());
    }
    std::array<const Bytes*, 2> order{&reversed, &scalar};
    if (type == EVP_PKEY_ED25519) order = {&scalar, &reversed};
    for (const Bytes* candidate : order) {
        EvpPkeyPtr key(
            EVP_PKEY_new_raw_private_key(type, nullptr, candidate->data(), candidate->size()));
        if (!key) continue;
        if (want.empty()) return key;
        Bytes have(32);
        std::size_t len = have.size();
        if (EVP_PKEY_get_raw_public_key(key.get(), have.data(), &len) == 1 && have == want) {
            return key;
        }
        if (type == EVP_PKEY_ED25519) break;  // Ed25519 seeds are never reversed
    }
    return nullptr;
}

}  // namespace

EvpPkeyPtr import_private_key(const AlgorithmAttributes& attrs,
                              const std::map<std::uint32_t, Bytes>& parts) {
    EvpPkeyPtr key;
    if (attrs.is_rsa()) {
        key = import_rsa(parts);
    } else if (const Bytes* scalar = part(parts, 0x92)) {
        if (attrs.curve == Curve::P256 || attrs.curve == Curve::P384) {
            key = import_nist(attrs, *scalar);
        } else {
            key = import_25519(attrs, *scalar, part(parts, 0x99));
        }
    }
    if (!key || !key_matches_attributes(key.get(), attrs)) return nullptr;
    return key;
}

}  // namespace keyfence::vcard
