// PIN sessions on an OpenPGP card in the engine, over real PC/SC (run by
// card_session_pcsc_test.sh inside a private pcscd world with keyfence-vcard, a P-256
// signature key and "PW1 valid for several signatures"): one PIN for several signatures, the
// operation cap, the TTL, lock(), the card's removal, per-operation mode, and after every end
// a card that no longer signs without a PIN. The same through keyfenced: one PIN for several
// signatures from separate connections, `lock`, and the agent's stop.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "engine/agent/client.hpp"
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

/// PUT DATA C4 (PW1 status byte) behind VERIFY PW3: whether PW1 stays valid for several
/// signatures.
void set_several_signatures(bool several) {
    auto context = token::pcsc::Context::establish();
    ASSERT_TRUE(context);
    auto readers = context->readers();
    ASSERT_TRUE(readers && !readers->empty());
    auto connection = token::pcsc::CardConnection::connect(*context, readers->front());
    ASSERT_TRUE(connection) << connection.error().message();
    token::openpgp::PcscTransport transport(*connection);
    token::openpgp::Channel channel(transport);
    ASSERT_TRUE(token::openpgp::OpenPgpCard::select(channel));
    const std::vector<std::uint8_t> pw3{'1', '2', '3', '4', '5', '6', '7', '8'};
    auto verified = channel.send({0x00, 0x20, 0x00, 0x83, pw3, false, true});
    ASSERT_TRUE(verified && verified->ok());
    const std::vector<std::uint8_t> value{static_cast<std::uint8_t>(several ? 1 : 0)};
    auto put = channel.send({0x00, 0xDA, 0x00, 0xC4, value, false, false});
    ASSERT_TRUE(put && put->ok());
    auto forget = channel.send({0x00, 0x20, 0xFF, 0x83, {}, false, false});
    ASSERT_TRUE(forget && forget->ok());
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

TEST_F(CardSession, ACardThatAllowsOneSignaturePerPinGetsNoSession) {
    set_several_signatures(false);
    auto e = engine("session", 20);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(sign(*e)) << i;
    EXPECT_EQ(asked(), 3u);
    EXPECT_TRUE(e->sessions().empty());
    EXPECT_NE(m_pins->requests[0].description().find("PIN session: none"), std::string::npos)
        << m_pins->requests[0].description();
    EXPECT_TRUE(others_can_connect());
    EXPECT_FALSE(card_signs_without_pin());
    set_several_signatures(true);
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

/// keyfenced in this world: a private runtime directory, the session policy as the user's
/// file, no PKCS#11 modules; stopped with SIGTERM by its PID and waited for.
class CardAgent : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* state = std::getenv("XDG_STATE_HOME");
        ASSERT_NE(state, nullptr) << "run by card_session_pcsc_test.sh";
        m_dir = std::string(state) + "/agent-test";
        ::mkdir(m_dir.c_str(), 0700);
        ::mkdir((m_dir + "/run").c_str(), 0700);
        ::mkdir((m_dir + "/config").c_str(), 0700);
        ::mkdir((m_dir + "/config/keyfence").c_str(), 0700);
        std::ofstream(m_dir + "/config/keyfence/config.toml")
            << "[pin]\nmode = \"session\"\nsession_max_operations = 20\n";
        ::setenv("XDG_RUNTIME_DIR", (m_dir + "/run").c_str(), 1);
        ::setenv("XDG_CONFIG_HOME", (m_dir + "/config").c_str(), 1);
        std::vector<std::string> args{KEYFENCED_BINARY, "--no-p11-kit"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ASSERT_EQ(::posix_spawn(&m_pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
        for (int i = 0; i < 100; ++i) {
            auto client = agent::AgentClient::connect();
            if (client && *client) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL() << "keyfenced did not start";
    }
    void TearDown() override { stop(); }
    int stop() {
        if (m_pid <= 0) return -1;
        ::kill(m_pid, SIGTERM);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
        return status;
    }
    base::Result<nlohmann::json> call(agent::RequestOp op) {
        auto client = agent::AgentClient::connect();
        if (!client) return std::move(client).error();
        if (!*client) return base::Error(base::ErrorCode::Io, "no agent");
        agent::Request request;
        request.op = op;
        request.options.no_p11_kit = true;
        request.key_uri = k_ref;
        request.hash = "sha256";
        request.digest.assign(32, 0x44);
        return (*client)->call(std::move(request), &m_pins);
    }

    std::string m_dir;
    pid_t m_pid = -1;
    test::FixedPinSource m_pins{"123456"};
};

TEST_F(CardAgent, OnePinAcrossClientsUntilLockAndTheAgentsStop) {
    for (int i = 0; i < 3; ++i) {
        auto reply = call(agent::RequestOp::Sign);
        ASSERT_TRUE(reply) << i << ": " << reply.error().message();
        EXPECT_FALSE(reply->value("signature", "").empty());
    }
    EXPECT_EQ(m_pins.requests.size(), 1u);
    auto status = call(agent::RequestOp::Status);
    ASSERT_TRUE(status);
    ASSERT_EQ((*status)["sessions"].size(), 1u) << status->dump();
    EXPECT_EQ((*status)["sessions"][0]["token_serial"], "FFFE0000C5E5");
    EXPECT_EQ((*status)["sessions"][0]["operations"], 3);
    auto locked = call(agent::RequestOp::Lock);
    ASSERT_TRUE(locked);
    EXPECT_EQ((*locked)["ended"], 1);
    EXPECT_FALSE(card_signs_without_pin());
    ASSERT_TRUE(call(agent::RequestOp::Sign));
    ASSERT_TRUE(call(agent::RequestOp::Sign));
    EXPECT_EQ(m_pins.requests.size(), 2u);
    stop();
    EXPECT_TRUE(others_can_connect());
    EXPECT_FALSE(card_signs_without_pin());
}

}  // namespace
}  // namespace keyfence::engine
