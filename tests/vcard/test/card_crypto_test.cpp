// GENERATE, PSO:CDS, PSO:DECIPHER, INTERNAL AUTHENTICATE and key import, checked with
// OpenSSL against the public key the card returns (OpenPGP card 3.4 §7.2.10–§7.2.14).
#include "card_fixture.hpp"
#include "tlv.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

namespace keyfence::vcard::test {
namespace {

struct SignCase {
    const char* name;
    AlgorithmAttributes attrs;
};

class SignTest : public CardTest, public ::testing::WithParamInterface<SignCase> {};

TEST_P(SignTest, GenerateThenSignVerifiesWithOpenSsl) {
    const AlgorithmAttributes& attrs = GetParam().attrs;
    set_attributes(KeySlot::Signature, attrs);
    EvpPkeyPtr pub = generate(KeySlot::Signature);
    ASSERT_TRUE(pub);
    // Reading the public key back (P1=81) needs no PIN and gives the same key.
    card.reset();
    Reply again = send_all(0x47, 0x81, 0x00, {0xB6, 0x00});
    ASSERT_EQ(again.sw, 0x9000);
    EvpPkeyPtr pub2 = public_key_from_template(again.data, attrs);
    ASSERT_TRUE(pub2);
    EXPECT_EQ(EVP_PKEY_eq(pub.get(), pub2.get()), 1);

    Bytes message = bytes_of("Keyfence signs this");
    Bytes input = attrs.is_rsa()                  ? sha256_digest_info(message)
                  : attrs.curve == Curve::Ed25519 ? message
                                                  : sha256(message);
    EXPECT_EQ(send(0x2A, 0x9E, 0x9A, input, 256).sw, 0x6982);  // PW1 81 not verified
    verify_ok(0x81, "123456");
    Reply sig = send_all(0x2A, 0x9E, 0x9A, input);
    ASSERT_EQ(sig.sw, 0x9000);
    EXPECT_TRUE(verify_card_signature(pub.get(), attrs, input, sig.data));
    Bytes other = input;
    other.back() ^= 1;
    EXPECT_FALSE(verify_card_signature(pub.get(), attrs, other, sig.data));
}

INSTANTIATE_TEST_SUITE_P(
    Algorithms, SignTest,
    ::testing::Values(SignCase{"rsa2048", AlgorithmAttributes::rsa(2048)},
                      SignCase{"p256", AlgorithmAttributes::ecc(Curve::P256, KeySlot::Signature)},
                      SignCase{"p384", AlgorithmAttributes::ecc(Curve::P384, KeySlot::Signature)},
                      SignCase{"ed25519",
                               AlgorithmAttributes::ecc(Curve::Ed25519, KeySlot::Signature)}),
    [](const ::testing::TestParamInfo<SignCase>& param_info) {
        return std::string(param_info.param.name);
    });

// RSA-4096 with short APDUs only: public key and signature (512 bytes) need GET RESPONSE.
TEST_F(CardTest, Rsa4096WithShortApdus) {
    set_attributes(KeySlot::Signature, AlgorithmAttributes::rsa(4096));
    verify_ok(0x83, "12345678");
    Reply gen = send_all(0x47, 0x80, 0x00, {0xB6, 0x00});
    ASSERT_EQ(gen.sw, 0x9000);
    EvpPkeyPtr pub = public_key_from_template(gen.data, AlgorithmAttributes::rsa(4096));
    ASSERT_TRUE(pub);
    EXPECT_EQ(EVP_PKEY_get_bits(pub.get()), 4096);
    verify_ok(0x81, "123456");
    Bytes di = sha256_digest_info(bytes_of("big"));
    Reply first = send(0x2A, 0x9E, 0x9A, di, 256);
    EXPECT_EQ(first.sw, 0x6100);  // 256 more bytes
    Reply sig = send_all(0x2A, 0x9E, 0x9A, di);
    EXPECT_EQ(sig.sw, 0x6982);  // PW1 81 was consumed by the first signature
    verify_ok(0x81, "123456");
    sig = send_all(0x2A, 0x9E, 0x9A, di);
    ASSERT_EQ(sig.sw, 0x9000);
    ASSERT_EQ(sig.data.size(), 512u);
    EXPECT_TRUE(verify_card_signature(pub.get(), AlgorithmAttributes::rsa(4096), di, sig.data));
}

TEST_F(CardTest, SignatureCounterCountsEverySignature) {
    set_attributes(KeySlot::Signature, AlgorithmAttributes::ecc(Curve::P256, KeySlot::Signature));
    ASSERT_TRUE(generate(KeySlot::Signature));
    Bytes hash = sha256(bytes_of("x"));
    for (int i = 1; i <= 3; ++i) {
        verify_ok(0x81, "123456");
        ASSERT_EQ(send(0x2A, 0x9E, 0x9A, hash, 256).sw, 0x9000);
        EXPECT_EQ(send(0xCA, 0, 0x7A, {}, 256).data,
                  (Bytes{0x7A, 0x05, 0x93, 0x03, 0, 0, static_cast<std::uint8_t>(i)}));
    }
    ASSERT_TRUE(generate(KeySlot::Signature));  // new signature key restarts the counter
    EXPECT_EQ(card.state().signature_counter, 0u);
}

TEST_F(CardTest, RsaDecipherRoundTrip) {
    EvpPkeyPtr pub = generate(KeySlot::Decryption);
    ASSERT_TRUE(pub);
    Bytes secret = bytes_of("session key 0123456789abcdef");
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub.get(), nullptr));
    ASSERT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
    std::size_t len = 0;
    ASSERT_EQ(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, secret.data(), secret.size()), 1);
    Bytes cryptogram(len);
    ASSERT_EQ(EVP_PKEY_encrypt(ctx.get(), cryptogram.data(), &len, secret.data(), secret.size()),
              1);
    Bytes data{0x00};
    append(data, cryptogram);
    EXPECT_EQ(send(0x2A, 0x80, 0x86, data, 256).sw, 0x6982);
    verify_ok(0x82, "123456");
    Reply plain = send_all(0x2A, 0x80, 0x86, data);
    ASSERT_EQ(plain.sw, 0x9000);
    EXPECT_EQ(plain.data, secret);
    data.back() ^= 0x55;
    EXPECT_EQ(send(0x2A, 0x80, 0x86, data, 256).sw, 0x6A80);
}

// ECDH as the OpenPGP client does it: ephemeral key, card computes the shared secret.
void ecdh_round_trip(CardTest& t, Curve curve) {
    t.set_attributes(KeySlot::Decryption, AlgorithmAttributes::ecc(curve, KeySlot::Decryption));
    EvpPkeyPtr pub = t.generate(KeySlot::Decryption);
    ASSERT_TRUE(pub);
    EvpPkeyPtr eph(curve == Curve::X25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")
                                          : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, eph.get(), nullptr));
    ASSERT_EQ(EVP_PKEY_derive_init(ctx.get()), 1);
    ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx.get(), pub.get()), 1);
    std::size_t len = 0;
    ASSERT_EQ(EVP_PKEY_derive(ctx.get(), nullptr, &len), 1);
    Bytes expected(len);
    ASSERT_EQ(EVP_PKEY_derive(ctx.get(), expected.data(), &len), 1);
    Bytes point(100);
    std::size_t plen = point.size();
    if (curve == Curve::X25519) {
        ASSERT_EQ(EVP_PKEY_get_raw_public_key(eph.get(), point.data(), &plen), 1);
    } else {
        ASSERT_EQ(EVP_PKEY_get_octet_string_param(eph.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                  point.data(), point.size(), &plen),
                  1);
    }
    point.resize(plen);
    Bytes data = make_tlv(0xA6, make_tlv(0x7F49, make_tlv(0x86, point)));
    t.verify_ok(0x82, "123456");
    Reply r = t.send_all(0x2A, 0x80, 0x86, data);
    ASSERT_EQ(r.sw, 0x9000);
    EXPECT_EQ(r.data, expected);
}

TEST_F(CardTest, EcdhP256DecipherRoundTrip) {
    ecdh_round_trip(*this, Curve::P256);
}
TEST_F(CardTest, X25519DecipherRoundTrip) {
    ecdh_round_trip(*this, Curve::X25519);
}

TEST_F(CardTest, InternalAuthenticateUsesAuthKey) {
    set_attributes(KeySlot::Authentication,
                   AlgorithmAttributes::ecc(Curve::Ed25519, KeySlot::Authentication));
    EvpPkeyPtr pub = generate(KeySlot::Authentication);
    ASSERT_TRUE(pub);
    Bytes challenge = bytes_of("ssh challenge");
    EXPECT_EQ(send(0x88, 0, 0, challenge, 256).sw, 0x6982);
    verify_ok(0x82, "123456");
    Reply sig = send_all(0x88, 0, 0, challenge);
    ASSERT_EQ(sig.sw, 0x9000);
    EXPECT_TRUE(verify_card_signature(
        pub.get(), card.state().slot(KeySlot::Authentication).attributes, challenge, sig.data));
    EXPECT_EQ(card.state().signature_counter, 0u);  // only PSO:CDS counts
}

TEST_F(CardTest, OperationsWithoutKeyFail) {
    verify_ok(0x81, "123456");
    EXPECT_EQ(send(0x2A, 0x9E, 0x9A, sha256_digest_info(bytes_of("m")), 256).sw, 0x6A88);
    EXPECT_EQ(send(0x47, 0x81, 0x00, {0xB8, 0x00}, 256).sw, 0x6A88);
    EXPECT_EQ(send(0x47, 0x80, 0x00, {0xB6, 0x00}, 256).sw, 0x6982);  // generate needs PW3
}

TEST_F(CardTest, CorruptSignatureFaultBreaksVerification) {
    set_attributes(KeySlot::Signature, AlgorithmAttributes::ecc(Curve::P256, KeySlot::Signature));
    EvpPkeyPtr pub = generate(KeySlot::Signature);
    Bytes hash = sha256(bytes_of("m"));
    card.set_corrupt_signature(true);
    verify_ok(0x81, "123456");
    Reply sig = send(0x2A, 0x9E, 0x9A, hash, 256);
    ASSERT_EQ(sig.sw, 0x9000);
    EXPECT_FALSE(verify_card_signature(pub.get(), card.state().slot(KeySlot::Signature).attributes,
                                       hash, sig.data));
}

// Private key template (§4.4.3.12): 4D { B6 00, 7F48 { tag len ... }, 5F48 { values } }.
Bytes import_template(std::uint8_t crt, const std::vector<std::pair<std::uint8_t, Bytes>>& parts) {
    Bytes list, values;
    for (const auto& [tag, v] : parts) {
        list.push_back(tag);
        append(list, encode_length(v.size()));
        append(values, v);
    }
    Bytes inner{crt, 0x00};
    append_tlv(inner, 0x7F48, list);
    append_tlv(inner, 0x5F48, values);
    return make_tlv(0x4D, inner);
}

Bytes bn_bytes(EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &raw), 1);
    BignumPtr bn(raw);
    Bytes out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), out.data());
    return out;
}

TEST_F(CardTest, ImportRsaKeyThenSign) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    Bytes tmpl = import_template(0xB6, {{0x91, *from_hex("010001")},
                                        {0x92, bn_bytes(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR1)},
                                        {0x93, bn_bytes(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR2)}});
    EXPECT_EQ(send(0xDB, 0x3F, 0xFF, tmpl).sw, 0x6982);
    verify_ok(0x83, "12345678");
    ASSERT_EQ(send(0xDB, 0x3F, 0xFF, tmpl).sw, 0x9000);
    EXPECT_EQ(card.state().slot(KeySlot::Signature).key_status, 0x02);
    verify_ok(0x81, "123456");
    Bytes di = sha256_digest_info(bytes_of("imported"));
    Reply sig = send_all(0x2A, 0x9E, 0x9A, di);
    ASSERT_EQ(sig.sw, 0x9000);
    EXPECT_TRUE(verify_card_signature(key.get(), AlgorithmAttributes::rsa(2048), di, sig.data));
    // Wrong size for the attributes is refused.
    EvpPkeyPtr small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)));
    Bytes bad = import_template(0xB6, {{0x91, *from_hex("010001")},
                                       {0x92, bn_bytes(small.get(), OSSL_PKEY_PARAM_RSA_FACTOR1)},
                                       {0x93, bn_bytes(small.get(), OSSL_PKEY_PARAM_RSA_FACTOR2)}});
    EXPECT_EQ(send(0xDB, 0x3F, 0xFF, bad).sw, 0x6A80);
}

TEST_F(CardTest, ImportP256KeyThenAuthenticate) {
    AlgorithmAttributes attrs = AlgorithmAttributes::ecc(Curve::P256, KeySlot::Authentication);
    set_attributes(KeySlot::Authentication, attrs);
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    Bytes d = bn_bytes(key.get(), OSSL_PKEY_PARAM_PRIV_KEY);
    ASSERT_EQ(send(0xDB, 0x3F, 0xFF, import_template(0xA4, {{0x92, d}})).sw, 0x9000);
    verify_ok(0x82, "123456");
    Bytes hash = sha256(bytes_of("auth"));
    Reply sig = send(0x88, 0, 0, hash, 256);
    ASSERT_EQ(sig.sw, 0x9000);
    EXPECT_TRUE(verify_card_signature(key.get(), attrs, hash, sig.data));
}

// GnuPG sends Curve25519 secrets as big-endian MPIs (gpg 2.2.40 keytocard, checked by
// keygrip in pcsc_gnupg_test.sh); the native X25519 scalar is little-endian.
TEST_F(CardTest, ImportX25519TakesBigEndianScalar) {
    AlgorithmAttributes attrs = AlgorithmAttributes::ecc(Curve::X25519, KeySlot::Decryption);
    set_attributes(KeySlot::Decryption, attrs);
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    Bytes native(32);
    std::size_t len = native.size();
    ASSERT_EQ(EVP_PKEY_get_raw_private_key(key.get(), native.data(), &len), 1);
    Bytes big_endian(native.rbegin(), native.rend());
    ASSERT_EQ(send(0xDB, 0x3F, 0xFF, import_template(0xB8, {{0x92, big_endian}})).sw, 0x9000);
    Reply pub = send(0x47, 0x81, 0x00, {0xB8, 0x00}, 256);
    ASSERT_EQ(pub.sw, 0x9000);
    EvpPkeyPtr card_pub = public_key_from_template(pub.data, attrs);
    ASSERT_TRUE(card_pub);
    EXPECT_EQ(EVP_PKEY_eq(card_pub.get(), key.get()), 1);
}

}  // namespace
}  // namespace keyfence::vcard::test
