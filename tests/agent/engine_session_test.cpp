// PIN sessions in the engine itself, without the agent (what one keyfence command, or an
// embedding program, gets): one PIN for several operations, the cap, lock(), the session's
// logout when the engine ends, and a key that checks its PIN for every operation.

#include <gtest/gtest.h>

#include "engine/engine.hpp"
#include "engine/policy/policy_file.hpp"
#include "tests/support/fixed_pin_source.hpp"
#include "tests/support/test_world.hpp"
#include "token/pkcs11/session.hpp"

namespace keyfence::engine {
namespace {

class EngineSession : public ::testing::Test {
  protected:
    std::unique_ptr<Engine> engine(int max_operations) {
        const std::string text = "[pin]\nmode = \"session\"\nsession_max_operations = " +
                                 std::to_string(max_operations) + "\n";
        auto parsed = policy::parse_policy_text(text, "policy.toml", policy::FileRole::Admin);
        EXPECT_TRUE(parsed.errors.empty());
        auto pins = std::make_unique<test::FixedPinSource>(test::k_user_pin);
        m_pins = pins.get();
        EngineOptions options{.modules = {test::k_softhsm_module},
                              .use_registered_modules = false,
                              .policy = policy::EffectivePolicy::merge(&parsed.file, nullptr)};
        return std::make_unique<Engine>(std::move(options), std::move(pins));
    }
    base::Result<std::vector<std::uint8_t>> sign(Engine& e, const std::string& object) {
        auto match = e.find_key("pkcs11:token=test-token;object=" + object);
        EXPECT_TRUE(match);
        OperationRequest request;
        request.key_uri = "pkcs11:token=test-token;object=" + object;
        const std::vector<std::uint8_t> digest(32, 0x33);
        return e.sign_digest(std::move(*match), request, digest);
    }

    test::SoftHsmWorld m_world;
    test::FixedPinSource* m_pins = nullptr;
};

TEST_F(EngineSession, OnePinForTheSessionThenTheCapThenLock) {
    auto e = engine(3);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sign(*e, "ecp256"));
    EXPECT_EQ(m_pins->requests.size(), 1u);
    EXPECT_NE(m_pins->requests[0].description().find("this PIN serves this command only, up "
                                                     "to 300 s or 3 operations"),
              std::string::npos)
        << m_pins->requests[0].description();
    EXPECT_TRUE(e->sessions().empty()) << "the third operation was the cap";
    ASSERT_TRUE(sign(*e, "rsa2048"));  // a new session: another key, the same token
    EXPECT_EQ(m_pins->requests.size(), 2u);
    ASSERT_EQ(e->sessions().size(), 1u);
    EXPECT_EQ(e->sessions()[0].operations, 1);
    EXPECT_EQ(e->lock(), 1u);
    ASSERT_TRUE(sign(*e, "ecp256"));
    EXPECT_EQ(m_pins->requests.size(), 3u);
}

TEST_F(EngineSession, TheSessionLogsOutWhenTheEngineEnds) {
    auto e = engine(100);
    ASSERT_TRUE(sign(*e, "ecp256"));
    auto match = e->find_key("pkcs11:token=test-token;object=ecp256");
    ASSERT_TRUE(match);
    // Another session of this process sees the login while the PIN session holds it...
    auto probe = token::pkcs11::Session::open(match->module, match->token.slot_id);
    ASSERT_TRUE(probe);
    EXPECT_TRUE(*probe->user_logged_in());
    // ...and not after the engine (and with it the session) is gone.
    e.reset();
    EXPECT_FALSE(*probe->user_logged_in());
}

TEST_F(EngineSession, AKeyThatChecksItsPinEveryTimeIsRefusedInsideASession) {
    auto e = engine(100);
    ASSERT_TRUE(sign(*e, "ecp256"));
    auto refused = sign(*e, "ecp256-always");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, base::ErrorCode::Unsupported);
    EXPECT_NE(refused.error().message().find("CKA_ALWAYS_AUTHENTICATE"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::engine
