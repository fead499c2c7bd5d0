// PIN sessions on an OpenPGP card in the engine, over real PC/SC (run by
// card_session_pcsc_test.sh inside a private pcscd world with keyfence-vcard, a P-256
// signature key and "PW1 valid for several signatures"): one PIN for several signatures, the
// operation cap, the TTL, lock(), the card's removal, per-operation mode, and after every end
// a card that no longer signs without a PIN.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "engine/engine.hpp"
#include "engine/policy/policy_file.hpp"
#include "tests/support/fixed_pin_source.hpp"
#include "token/openpgp/card_directory.hpp"
#include "token/openpgp/openpgp_card.hpp"
#include "token/openpgp/pcsc_transport.hpp"
#include "token/pcsc/context.hpp"

namespace keyfence::engine {
namespace {

constexpr const char* k_ref = "openpgp:0000C5E5";

/// Whether the card in the world signs (PSO:CDS) on a fresh connection without any VERIFY:
/// true only while a verified state is left on it.
bool card_signs_without_pin() {
    auto context = token::pcsc::Context::establish();
    EXPECT_TRUE(context);
    const token::openpgp::CardListing cards = token::openpgp::list_cards();
    EXPECT_FALSE(cards.cards.empty());
    if (!context || cards.cards.empty()) return false;
    auto connection = token::pcsc::CardConnection::connect(*context, cards.cards.front().reader);
    EXPECT_TRUE(connection) << connection.error().message();
    if (!connection) return false;
    token::openpgp::PcscTransport transport(*connection);
    token::openpgp::Channel channel(transport);
    auto card = token::openpgp::OpenPgpCard::select(channel);
    EXPECT_TRUE(card);
    if (!card) return false;
    const std::vector<std::uint8_t> digest(32, 0x5A);
    return static_cast<bool>(card->sign(digest));
}

/// Whether another program can connect to the card now (false while a session reserves it).
bool others_can_connect() {
    auto context = token::pcsc::Context::establish();
    if (!context) return false;
    auto readers = context->readers();
    if (!readers || readers->empty()) return false;
    return static_cast<bool>(token::pcsc::CardConnection::connect(*context, readers->front()));
}

void set_control(const std::string& text) {
    const char* path = std::getenv("KEYFENCE_CARD_CONTROL");
    ASSERT_NE(path, nullptr) << "run by card_session_pcsc_test.sh";
    std::ofstream(path, std::ios::trunc) << text;
}

void wait_for_card() {
    for (int i = 0; i < 100; ++i) {
        auto ref = token::openpgp::parse_card_reference(k_ref);
        const auto listing = token::openpgp::list_cards();
        if (ref && token::openpgp::find_card(listing, *ref)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the card did not come back";
}

class CardSession : public ::testing::Test {
  protected:
    std::unique_ptr<Engine> engine(const std::string& mode, int max_operations, int ttl = 300) {
        const std::string text = "[pin]\nmode = \"" + mode +
                                 "\"\nsession_max_operations = " + std::to_string(max_operations) +
                                 "\nsession_ttl = " + std::to_string(ttl) + "\n";
        auto parsed = policy::parse_policy_text(text, "policy.toml", policy::FileRole::Admin);
        EXPECT_TRUE(parsed.errors.empty());
        auto pins = std::make_unique<test::FixedPinSource>("123456");
        m_pins = pins.get();
        EngineOptions options{.modules = {},
                              .use_registered_modules = false,
                              .policy = policy::EffectivePolicy::merge(&parsed.file, nullptr)};
        return std::make_unique<Engine>(std::move(options), std::move(pins));
    }
    static base::Result<std::vector<std::uint8_t>> sign(Engine& e) {
        OperationRequest request;
        request.key_uri = k_ref;
        request.protocol = Protocol::OpenPgp;
        const std::vector<std::uint8_t> digest(32, 0x33);
        return e.sign_digest_card(request, digest);
    }
    std::size_t asked() const { return m_pins->requests.size(); }

    test::FixedPinSource* m_pins = nullptr;
};

TEST_F(CardSession, PerOperationModeAsksEveryTimeAndLeavesTheCardUnverified) {
    auto e = engine("per-operation", 20);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sign(*e)) << i;
    EXPECT_EQ(asked(), 3u);
    EXPECT_TRUE(e->sessions().empty());
    EXPECT_TRUE(others_can_connect());
    // The card allows several signatures per VERIFY; the lease reset it after its one use.
    EXPECT_FALSE(card_signs_without_pin());
}

TEST_F(CardSession, OnePinForSeveralSignaturesUntilLock) {
    auto e = engine("session", 20);
    for (int i = 0; i < 4; ++i) {
        auto signature = sign(*e);
        ASSERT_TRUE(signature) << i << ": " << signature.error().message();
    }
    EXPECT_EQ(asked(), 1u);
    EXPECT_NE(m_pins->requests[0].description().find("this PIN serves this program only"),
              std::string::npos)
        << m_pins->requests[0].description();
    ASSERT_EQ(e->sessions().size(), 1u);
    EXPECT_EQ(e->sessions()[0].operations, 4);
    EXPECT_EQ(e->sessions()[0].token_serial, "FFFE0000C5E5");
    EXPECT_FALSE(others_can_connect()) << "the verified card must be reserved to the session";
    EXPECT_EQ(e->lock(), 1u);
    EXPECT_TRUE(e->sessions().empty());
    EXPECT_FALSE(card_signs_without_pin());
    ASSERT_TRUE(sign(*e));
    EXPECT_EQ(asked(), 2u);
}

TEST_F(CardSession, TheOperationCapEndsTheSession) {
    auto e = engine("session", 3);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sign(*e)) << i;
    EXPECT_EQ(asked(), 1u);
    EXPECT_TRUE(e->sessions().empty());
    EXPECT_FALSE(card_signs_without_pin());
    ASSERT_TRUE(sign(*e));
    EXPECT_EQ(asked(), 2u);
}

TEST_F(CardSession, TheTtlEndsTheSession) {
    auto e = engine("session", 20, 1);
    ASSERT_TRUE(sign(*e));
    ASSERT_TRUE(sign(*e));
    EXPECT_EQ(asked(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    EXPECT_EQ(e->sweep_sessions(), 1u);
    EXPECT_FALSE(card_signs_without_pin());
    ASSERT_TRUE(sign(*e));
    EXPECT_EQ(asked(), 2u);
    // Also when the next signature, not a sweep, finds the session expired.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    ASSERT_TRUE(sign(*e));
    EXPECT_EQ(asked(), 3u);
}

TEST_F(CardSession, RemovingTheCardEndsTheSession) {
    auto e = engine("session", 20);
    ASSERT_TRUE(sign(*e));
    ASSERT_TRUE(sign(*e));
    EXPECT_EQ(asked(), 1u);
    set_control("remove-on any\n");
    EXPECT_EQ(e->sweep_sessions(), 1u);  // its check of the card finds it gone
    set_control("");
    wait_for_card();
    EXPECT_TRUE(e->sessions().empty());
    EXPECT_FALSE(card_signs_without_pin());
    auto again = sign(*e);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(asked(), 2u);
    // Removed while the next signature checks the card: that signature needs the PIN again.
    set_control("remove-on any\n");
    auto during = sign(*e);
    set_control("");
    wait_for_card();
    EXPECT_TRUE(e->sessions().empty());
    EXPECT_FALSE(card_signs_without_pin());
    (void)during;
}

TEST_F(CardSession, TheEngineEndingEndsTheSession) {
    {
        auto e = engine("session", 20);
        ASSERT_TRUE(sign(*e));
        ASSERT_TRUE(sign(*e));
        EXPECT_EQ(asked(), 1u);
    }
    EXPECT_TRUE(others_can_connect());
    EXPECT_FALSE(card_signs_without_pin());
}

}  // namespace
}  // namespace keyfence::engine
