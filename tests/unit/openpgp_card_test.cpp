// Keyfence's OpenPGP card code against the card logic of keyfence-vcard (its core, without
// sockets): select, PIN status, VERIFY behind the lockout guard, PSO:CDS, DECIPHER, ECDH.
// The same code runs over real pcscd in the pcsc tests.

#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include "base/process_hardening.hpp"
#include "card.hpp"
#include "tests/support/ecdh_peer.hpp"
#include "token/openpgp/openpgp_card.hpp"
#include "token/openpgp/status_word.hpp"
#include "token/pkcs11/mechanisms.hpp"

namespace keyfence::token::openpgp {
namespace {
using base::ErrorCode;

class CoreTransport : public Transport {
  public:
    base::Result<std::vector<std::uint8_t>> transmit(std::span<const std::uint8_t> apdu) override {
        if (apdu.size() > 1 && apdu[1] == 0x20) ++verify_apdus;
        return card.process(apdu);
    }
    vcard::Card card{vcard::CardState::factory(0x0000ABCD)};
    int verify_apdus = 0;
};

base::Pin pin_of(const std::string& text) {
    base::Pin pin;
    for (char c : text) pin.push_back(static_cast<std::uint8_t>(c));
    return pin;
}

class OpenPgpCardTest : public ::testing::Test {
  protected:
    void SetUp() override { (void)base::harden_process(); }

    OpenPgpCard select() {
        auto card = OpenPgpCard::select(channel);
        EXPECT_TRUE(card) << card.error().message();
        return std::move(*card);
    }
    // Admin setup the way gpg --card-edit does it: VERIFY PW3, set the algorithm, GENERATE.
    void generate(std::uint8_t crt, std::vector<std::uint8_t> attributes = {}) {
        const auto pw3 = pin_of("12345678");
        ASSERT_EQ(
            channel.send({.ins = 0x20, .p2 = 0x83, .data = pw3.bytes(), .expect_data = false})->sw,
            0x9000);
        if (!attributes.empty()) {
            const std::uint8_t tag = crt == 0xB6 ? 0xC1 : crt == 0xB8 ? 0xC2 : 0xC3;
            ASSERT_EQ(
                channel.send({.ins = 0xDA, .p2 = tag, .data = attributes, .expect_data = false})
                    ->sw,
                0x9000);
        }
        const std::uint8_t template_[] = {crt, 0x00};
        ASSERT_EQ(channel.send({.ins = 0x47, .p1 = 0x80, .data = template_})->sw, 0x9000);
        transport.card.reset();  // drop PW3, as a new session would
    }

    CoreTransport transport;
    Channel channel{transport};
};

TEST_F(OpenPgpCardTest, SelectReadsTheApplicationData) {
    OpenPgpCard card = select();
    EXPECT_EQ(card.data().version_major, 3);
    EXPECT_EQ(card.data().version_minor, 4);
    EXPECT_EQ(card.data().serial_text(), "FFFE0000ABCD");
    EXPECT_TRUE(card.data().is_test_card());
    EXPECT_EQ(card.data().algorithms[0].describe(), "RSA-2048");
    EXPECT_EQ(card.data().pins.pw1_tries, 3);
    EXPECT_EQ(card.data().pins.reset_code_tries, 0);
    EXPECT_EQ(card.data().pins.pw3_tries, 3);
    EXPECT_TRUE(card.data().extended_length);
    EXPECT_EQ(*card.read_signature_counter(), 0u);
    EXPECT_EQ(card.public_key(KeySlot::Signature).error().code, ErrorCode::KeyNotFound);
}

TEST_F(OpenPgpCardTest, RsaSignatureVerifiesAndTheCounterCounts) {
    generate(0xB6);
    OpenPgpCard card = select();
    auto pub = card.public_key(KeySlot::Signature);
    ASSERT_TRUE(pub) << pub.error().message();
    EXPECT_EQ(EVP_PKEY_get_bits(pub->get()), 2048);
    ASSERT_TRUE(card.verify(PinRef::SignPw1, pin_of("123456"), {}));
    const std::vector<std::uint8_t> digest(32, 0x5A);
    auto input = pkcs11::digest_info(pkcs11::Hash::Sha256, digest);
    auto sig = card.sign(*input);
    ASSERT_TRUE(sig) << sig.error().message();
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pub->get(), nullptr));
    EVP_PKEY_verify_init(ctx.get());
    EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256());
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    EXPECT_EQ(EVP_PKEY_verify(ctx.get(), sig->data(), sig->size(), digest.data(), digest.size()),
              1);
    EXPECT_EQ(*card.read_signature_counter(), 1u);
    // PW1 is valid for one signature (C4 byte 1 = 00): the next PSO:CDS needs VERIFY again.
    EXPECT_EQ(card.sign(*input).error().code, ErrorCode::PinIncorrect);
}

TEST_F(OpenPgpCardTest, EcdsaAndEcdhOnP256) {
    const std::vector<std::uint8_t> ecdsa_p256 = {0x13, 0x2A, 0x86, 0x48, 0xCE,
                                                  0x3D, 0x03, 0x01, 0x07};
    const std::vector<std::uint8_t> ecdh_p256 = {0x12, 0x2A, 0x86, 0x48, 0xCE,
                                                 0x3D, 0x03, 0x01, 0x07};
    generate(0xB6, ecdsa_p256);
    generate(0xB8, ecdh_p256);
    OpenPgpCard card = select();
    EXPECT_EQ(card.data().algorithms[0].describe(), "ECDSA P-256");
    EXPECT_EQ(card.data().algorithms[1].describe(), "ECDH P-256");
    auto sign_pub = card.public_key(KeySlot::Signature);
    ASSERT_TRUE(sign_pub);
    ASSERT_TRUE(card.verify(PinRef::SignPw1, pin_of("123456"), {}));
    const std::vector<std::uint8_t> digest(32, 0x11);
    auto raw = card.sign(digest);
    ASSERT_TRUE(raw);
    auto der = pkcs11::ecdsa_raw_to_der(*raw);
    base::EvpPkeyCtxPtr vctx(EVP_PKEY_CTX_new(sign_pub->get(), nullptr));
    EVP_PKEY_verify_init(vctx.get());
    EXPECT_EQ(EVP_PKEY_verify(vctx.get(), der->data(), der->size(), digest.data(), digest.size()),
              1);

    auto dec_pub = card.public_key(KeySlot::Decryption);
    ASSERT_TRUE(dec_pub);
    const test::EcdhPeer peer = test::ecdh_peer(dec_pub->get());
    ASSERT_TRUE(card.verify(PinRef::Pw1, pin_of("123456"), {}));
    auto shared = card.ecdh(peer.point);
    ASSERT_TRUE(shared) << shared.error().message();
    EXPECT_EQ(std::vector<std::uint8_t>(shared->bytes().begin(), shared->bytes().end()),
              peer.expected_secret);
}

TEST_F(OpenPgpCardTest, WrongPinsCountDownAndTheLastTryIsGuarded) {
    OpenPgpCard card = select();
    auto first = card.verify(PinRef::SignPw1, pin_of("000000"), {});
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().code, ErrorCode::PinIncorrect);
    EXPECT_EQ(first.error().retries_left, 2);
    EXPECT_NE(first.error().context.find("one try was spent, 2 left"), std::string::npos);
    auto second = card.verify(PinRef::SignPw1, pin_of("000001"), {});
    EXPECT_EQ(second.error().retries_left, 1);
    EXPECT_NE(second.error().hint.find("--allow-last-pin-try"), std::string::npos);
    EXPECT_EQ(transport.verify_apdus, 2) << "one wrong entry costs exactly one VERIFY";

    // One try left: refused without sending anything, even the right PIN.
    auto guarded = card.verify(PinRef::SignPw1, pin_of("123456"), {});
    ASSERT_FALSE(guarded);
    EXPECT_EQ(guarded.error().code, ErrorCode::LastTryRefused);
    EXPECT_EQ(transport.verify_apdus, 2);
    EXPECT_EQ(card.read_pin_status()->pw1_tries, 1);

    // Allowed and wrong: the PIN is now blocked, and a blocked PIN is never sent.
    auto blocked = card.verify(PinRef::SignPw1, pin_of("000002"), {.allow_last_pin_try = true});
    EXPECT_EQ(blocked.error().code, ErrorCode::PinLocked);
    EXPECT_NE(blocked.error().hint.find("admin PIN"), std::string::npos);
    auto again = card.verify(PinRef::SignPw1, pin_of("123456"), {.allow_last_pin_try = true});
    EXPECT_EQ(again.error().code, ErrorCode::PinLocked);
    EXPECT_EQ(transport.verify_apdus, 3);
}

TEST_F(OpenPgpCardTest, AllowedLastTryWithTheRightPinRestoresTheCounter) {
    OpenPgpCard card = select();
    (void)card.verify(PinRef::SignPw1, pin_of("000000"), {});
    (void)card.verify(PinRef::SignPw1, pin_of("000000"), {});
    ASSERT_TRUE(card.verify(PinRef::SignPw1, pin_of("123456"), {.allow_last_pin_try = true}));
    EXPECT_EQ(card.read_pin_status()->pw1_tries, 3);
}

TEST_F(OpenPgpCardTest, RsaDecipherAndOneErrorForBadData) {
    generate(0xB8);
    OpenPgpCard card = select();
    auto pub = card.public_key(KeySlot::Decryption);
    ASSERT_TRUE(pub);
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pub->get(), nullptr));
    EVP_PKEY_encrypt_init(ctx.get());
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    const std::string secret = "content key";
    std::vector<std::uint8_t> enc(256);
    size_t len = enc.size();
    EVP_PKEY_encrypt(ctx.get(), enc.data(), &len,
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
    ASSERT_TRUE(card.verify(PinRef::Pw1, pin_of("123456"), {}));
    auto plain = card.decipher_rsa(enc);
    ASSERT_TRUE(plain) << plain.error().message();
    EXPECT_EQ(std::string(plain->bytes().begin(), plain->bytes().end()), secret);
    auto bad = card.decipher_rsa(std::vector<std::uint8_t>(256, 0x33));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "decryption failed");
}

TEST(StatusWords, MapToWhatTheCallerDoesNext) {
    EXPECT_EQ(status_word(0x63C2).code, ErrorCode::PinIncorrect);
    EXPECT_EQ(tries_left_in(0x63C2), 2);
    EXPECT_EQ(status_word(0x6983).code, ErrorCode::PinLocked);
    EXPECT_EQ(status_word(0x6A88).code, ErrorCode::KeyNotFound);
    EXPECT_EQ(status_word(0x1234).code, ErrorCode::ModuleFailure);
    const base::Error e = card_error(0x6982, "VERIFY");
    EXPECT_EQ(e.origin, base::Origin::Iso7816);
    EXPECT_EQ(e.raw_name, "SW_SECURITY_STATUS 6982");
}

}  // namespace
}  // namespace keyfence::token::openpgp
