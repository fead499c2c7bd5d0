// Keyfence's native OpenPGP card code over real PC/SC (run inside a private pcscd world by
// card_crypto_pcsc_test.sh, with keyfence-vcard behind vpcd): RSA decipher and ECDH on the
// card's decryption key, checked against OpenSSL with the card's public key.

#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include <cstdlib>

#include "base/process_hardening.hpp"
#include "tests/support/ecdh_peer.hpp"
#include "token/openpgp/card_directory.hpp"
#include "token/openpgp/openpgp_card.hpp"
#include "token/openpgp/pcsc_transport.hpp"

namespace keyfence::token::openpgp {
namespace {

base::Pin pin_of(const std::string& text) {
    base::Pin pin;
    for (char c : text) pin.push_back(static_cast<std::uint8_t>(c));
    return pin;
}

class CardOverPcsc : public ::testing::Test {
  protected:
    void SetUp() override {
        (void)base::harden_process();
        auto context = pcsc::Context::establish();
        ASSERT_TRUE(context) << context.error().message();
        m_context.emplace(std::move(*context));
        const CardListing cards = list_cards();
        ASSERT_FALSE(cards.cards.empty()) << "no card in the private pcscd";
        auto connection = pcsc::CardConnection::connect(*m_context, cards.cards.front().reader);
        ASSERT_TRUE(connection) << connection.error().message();
        m_connection.emplace(std::move(*connection));
        m_transport.emplace(*m_connection);
        m_channel.emplace(*m_transport);
    }
    OpenPgpCard select() {
        auto card = OpenPgpCard::select(*m_channel);
        EXPECT_TRUE(card) << card.error().message();
        return std::move(*card);
    }
    std::optional<pcsc::Context> m_context;
    std::optional<pcsc::CardConnection> m_connection;
    std::optional<PcscTransport> m_transport;
    std::optional<Channel> m_channel;
};

TEST_F(CardOverPcsc, DecipherOrEcdhOnTheDecryptionKey) {
    OpenPgpCard card = select();
    auto pub = card.public_key(KeySlot::Decryption);
    ASSERT_TRUE(pub) << pub.error().message();
    ASSERT_TRUE(card.verify(PinRef::Pw1, pin_of("123456"), {}));
    if (EVP_PKEY_get_base_id(pub->get()) == EVP_PKEY_RSA) {
        base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pub->get(), nullptr));
        EVP_PKEY_encrypt_init(ctx.get());
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
        const std::string secret = "session key over pcscd";
        std::vector<std::uint8_t> enc(512);
        size_t len = enc.size();
        ASSERT_EQ(
            EVP_PKEY_encrypt(ctx.get(), enc.data(), &len,
                             reinterpret_cast<const unsigned char*>(secret.data()), secret.size()),
            1);
        enc.resize(len);
        auto plain = card.decipher_rsa(enc);
        ASSERT_TRUE(plain) << plain.error().message();
        EXPECT_EQ(std::string(plain->bytes().begin(), plain->bytes().end()), secret);
        std::printf("RSA decipher over pcscd: ok\n");
        return;
    }
    const test::EcdhPeer peer = test::ecdh_peer(pub->get());
    auto shared = card.ecdh(peer.point);
    ASSERT_TRUE(shared) << shared.error().message();
    EXPECT_EQ(std::vector<std::uint8_t>(shared->bytes().begin(), shared->bytes().end()),
              peer.expected_secret);
    std::printf("ECDH P-256 over pcscd: ok\n");
}

}  // namespace
}  // namespace keyfence::token::openpgp
