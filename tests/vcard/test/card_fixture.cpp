#include "card_fixture.hpp"

#include "tlv.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

namespace keyfence::vcard::test {

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

Reply split_reply(const Bytes& raw) {
    Reply r;
    if (raw.size() < 2) return r;
    r.data.assign(raw.begin(), raw.end() - 2);
    r.sw = static_cast<std::uint16_t>(raw[raw.size() - 2] << 8 | raw.back());
    return r;
}

Reply CardTest::send_hex(const std::string& hex) {
    auto raw = from_hex(hex);
    EXPECT_TRUE(raw.has_value()) << hex;
    return split_reply(card.process(*raw));
}

Reply CardTest::send(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data,
                     std::size_t le, std::uint8_t cla) {
    CommandApdu a;
    a.cla = cla;
    a.ins = ins;
    a.p1 = p1;
    a.p2 = p2;
    a.data = data;
    a.le_present = le != 0;
    a.le = le;
    return split_reply(card.process(serialize_command_apdu(a)));
}

Reply CardTest::send_all(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data,
                         std::size_t le) {
    Reply r = send(ins, p1, p2, data, le);
    Reply total{r.data, r.sw};
    while ((total.sw & 0xFF00) == 0x6100) {
        std::size_t n = (total.sw & 0xFF) == 0 ? 256 : (total.sw & 0xFF);
        Reply more = send(0xC0, 0, 0, {}, n);
        append(total.data, more.data);
        total.sw = more.sw;
    }
    return total;
}

void CardTest::verify_ok(std::uint8_t reference, const std::string& pin) {
    ASSERT_EQ(send(0x20, 0x00, reference, bytes_of(pin)).sw, 0x9000);
}

void CardTest::set_attributes(KeySlot slot, const AlgorithmAttributes& attrs) {
    verify_ok(0x83, "12345678");
    ASSERT_EQ(
        send(0xDA, 0x00, static_cast<std::uint8_t>(0xC1 + static_cast<int>(slot)), attrs.raw).sw,
        0x9000);
}

EvpPkeyPtr CardTest::generate(KeySlot slot) {
    static constexpr std::uint8_t k_crt[3] = {0xB6, 0xB8, 0xA4};
    verify_ok(0x83, "12345678");
    Reply r = send_all(0x47, 0x80, 0x00, {k_crt[static_cast<int>(slot)], 0x00}, 65536);
    EXPECT_EQ(r.sw, 0x9000);
    return public_key_from_template(r.data, card.state().slot(slot).attributes);
}

EvpPkeyPtr public_key_from_template(ByteView tmpl, const AlgorithmAttributes& attrs) {
    auto outer = find_tlv(tmpl, 0x7F49);
    if (!outer) return nullptr;
    std::unique_ptr<OSSL_PARAM_BLD, CFree<&OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
    const char* type = "EC";
    BignumPtr n, e;
    Bytes point;
    if (attrs.is_rsa()) {
        auto nt = find_tlv(outer->value, 0x81);
        auto et = find_tlv(outer->value, 0x82);
        if (!nt || !et) return nullptr;
        n.reset(BN_bin2bn(nt->value.data(), static_cast<int>(nt->value.size()), nullptr));
        e.reset(BN_bin2bn(et->value.data(), static_cast<int>(et->value.size()), nullptr));
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
        type = "RSA";
    } else {
        auto pt = find_tlv(outer->value, 0x86);
        if (!pt) return nullptr;
        point.assign(pt->value.begin(), pt->value.end());
        if (attrs.curve == Curve::Ed25519 || attrs.curve == Curve::X25519) {
            int id = attrs.curve == Curve::Ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519;
            return EvpPkeyPtr(EVP_PKEY_new_raw_public_key(id, nullptr, point.data(), point.size()));
        }
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                        attrs.curve == Curve::P384 ? "P-384" : "P-256", 0);
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size());
    }
    std::unique_ptr<OSSL_PARAM, CFree<&OSSL_PARAM_free>> params(OSSL_PARAM_BLD_to_param(bld.get()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* out = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return EvpPkeyPtr(out);
}

Bytes sha256(ByteView message) {
    Bytes out(32);
    unsigned len = 0;
    EVP_Digest(message.data(), message.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

Bytes sha256_digest_info(ByteView message) {
    // RFC 8017 §9.2 note 1: DER prefix of DigestInfo for SHA-256.
    Bytes di = *from_hex("3031300d060960864801650304020105000420");
    append(di, sha256(message));
    return di;
}

bool verify_card_signature(EVP_PKEY* pub, const AlgorithmAttributes& attrs, ByteView input,
                           ByteView signature) {
    if (attrs.curve == Curve::Ed25519) {
        std::unique_ptr<EVP_MD_CTX, CFree<&EVP_MD_CTX_free>> md(EVP_MD_CTX_new());
        return EVP_DigestVerifyInit_ex(md.get(), nullptr, nullptr, nullptr, nullptr, pub,
                                       nullptr) == 1 &&
               EVP_DigestVerify(md.get(), signature.data(), signature.size(), input.data(),
                                input.size()) == 1;
    }
    Bytes sig(signature.begin(), signature.end());
    if (!attrs.is_rsa()) {
        // r||s → DER for OpenSSL.
        std::size_t half = sig.size() / 2;
        std::unique_ptr<ECDSA_SIG, CFree<&ECDSA_SIG_free>> es(ECDSA_SIG_new());
        BIGNUM* r = BN_bin2bn(sig.data(), static_cast<int>(half), nullptr);
        BIGNUM* s = BN_bin2bn(sig.data() + half, static_cast<int>(half), nullptr);
        ECDSA_SIG_set0(es.get(), r, s);
        unsigned char* der = nullptr;
        int len = i2d_ECDSA_SIG(es.get(), &der);
        sig.assign(der, der + len);
        OPENSSL_free(der);
    }
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) return false;
    if (attrs.is_rsa() && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
        return false;
    return EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), input.data(), input.size()) == 1;
}

}  // namespace keyfence::vcard::test
