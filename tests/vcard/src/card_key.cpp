#include "card_key.hpp"

#include "tlv.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace keyfence::vcard {
namespace {

using BioPtr = std::unique_ptr<BIO, CFree<&BIO_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, CFree<&ECDSA_SIG_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, CFree<&OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, CFree<&OSSL_PARAM_free>>;

const char* group_name(Curve c) {
    return c == Curve::P384 ? "P-384" : "P-256";
}

std::optional<Bytes> bn_param(const EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return std::nullopt;
    BignumPtr bn(raw);
    Bytes out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), out.data());
    return out;
}

std::optional<Bytes> encoded_point(const EVP_PKEY* key, const AlgorithmAttributes& attrs) {
    Bytes out(200);
    std::size_t len = 0;
    if (attrs.curve == Curve::Ed25519 || attrs.curve == Curve::X25519) {
        len = out.size();
        if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1) return std::nullopt;
    } else if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                               out.size(), &len) != 1) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

// ECDSA DER signature → r||s with each half padded to the field size (§7.2.10).
std::optional<Bytes> der_to_raw_ecdsa(ByteView der, std::size_t field) {
    const unsigned char* p = der.data();
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig) return std::nullopt;
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    Bytes out(2 * field);
    if (BN_bn2binpad(r, out.data(), static_cast<int>(field)) < 0 ||
        BN_bn2binpad(s, out.data() + field, static_cast<int>(field)) < 0) {
        return std::nullopt;
    }
    return out;
}

EvpPkeyPtr peer_key(const AlgorithmAttributes& attrs, ByteView point) {
    if (attrs.curve == Curve::X25519) {
        return EvpPkeyPtr(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, point.data(), point.size()));
    }
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                         group_name(attrs.curve), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size())) {
        return nullptr;
    }
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* out = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return EvpPkeyPtr(out);
}

}  // namespace

EvpPkeyPtr generate_key(const AlgorithmAttributes& attrs) {
    switch (attrs.curve) {
        case Curve::None:
            return EvpPkeyPtr(
                EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(attrs.rsa_bits)));
        case Curve::P256:
        case Curve::P384:
            return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group_name(attrs.curve)));
        case Curve::Ed25519:
            return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
        case Curve::X25519:
            return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    }
    return nullptr;
}

bool key_matches_attributes(const EVP_PKEY* key, const AlgorithmAttributes& attrs) {
    if (key == nullptr) return false;
    switch (attrs.curve) {
        case Curve::None:
            return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == attrs.rsa_bits;
        case Curve::P256:
        case Curve::P384: {
            char name[64] = {};
            std::size_t len = 0;
            if (!EVP_PKEY_is_a(key, "EC") ||
                EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                               &len) != 1) {
                return false;
            }
            std::string_view n(name, len);
            return attrs.curve == Curve::P256 ? (n == "prime256v1" || n == "P-256")
                                              : (n == "secp384r1" || n == "P-384");
        }
        case Curve::Ed25519:
            return EVP_PKEY_is_a(key, "ED25519");
        case Curve::X25519:
            return EVP_PKEY_is_a(key, "X25519");
    }
    return false;
}

std::optional<Bytes> public_key_template(const EVP_PKEY* key, const AlgorithmAttributes& attrs) {
    Bytes inner;
    if (attrs.is_rsa()) {
        auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N);
        auto e = bn_param(key, OSSL_PKEY_PARAM_RSA_E);
        if (!n || !e) return std::nullopt;
        append_tlv(inner, 0x81, *n);
        append_tlv(inner, 0x82, *e);
    } else {
        auto point = encoded_point(key, attrs);
        if (!point) return std::nullopt;
        append_tlv(inner, 0x86, *point);
    }
    return make_tlv(0x7F49, inner);
}

std::optional<Bytes> card_sign(EVP_PKEY* key, const AlgorithmAttributes& attrs, ByteView input) {
    if (attrs.curve == Curve::Ed25519) {
        // EdDSA signs the message itself (pure Ed25519, RFC 8032).
        std::unique_ptr<EVP_MD_CTX, CFree<&EVP_MD_CTX_free>> md(EVP_MD_CTX_new());
        Bytes sig(64);
        std::size_t len = sig.size();
        if (!md ||
            EVP_DigestSignInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr) !=
                1 ||
            EVP_DigestSign(md.get(), sig.data(), &len, input.data(), input.size()) != 1) {
            return std::nullopt;
        }
        sig.resize(len);
        return sig;
    }
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) return std::nullopt;
    if (attrs.is_rsa() && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
        return std::nullopt;
    }
    std::size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, input.data(), input.size()) != 1) {
        return std::nullopt;
    }
    Bytes sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, input.data(), input.size()) != 1) {
        return std::nullopt;
    }
    sig.resize(len);
    if (attrs.is_rsa()) return sig;
    return der_to_raw_ecdsa(sig, attrs.field_bytes());
}

std::optional<Bytes> rsa_decrypt(EVP_PKEY* key, ByteView cryptogram) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
        return std::nullopt;
    }
    std::size_t len = 0;
    if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, cryptogram.data(), cryptogram.size()) != 1) {
        return std::nullopt;
    }
    Bytes out(len);
    if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, cryptogram.data(), cryptogram.size()) != 1) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

std::optional<Bytes> ecdh_shared_secret(EVP_PKEY* key, const AlgorithmAttributes& attrs,
                                        ByteView peer_point) {
    if (attrs.curve == Curve::X25519 && peer_point.size() == 33 && peer_point[0] == 0x40) {
        peer_point = peer_point.subspan(1);  // OpenPGP native-point prefix
    }
    EvpPkeyPtr peer = peer_key(attrs, peer_point);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!peer || !ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
        return std::nullopt;
    }
    std::size_t len = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return std::nullopt;
    Bytes out(len);
    if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) return std::nullopt;
    out.resize(len);
    return out;
}

std::optional<std::string> private_key_pem(const EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return std::nullopt;
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    std::string out(data, static_cast<std::size_t>(len));
    return out;
}

EvpPkeyPtr private_key_from_pem(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return nullptr;
    return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace keyfence::vcard
