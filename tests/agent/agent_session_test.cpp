// PIN sessions in the agent: one PIN for several operations, ended by the cap, the TTL,
// keyfence lock, the token's removal and the agent's end; per-operation mode; confirmations.

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <thread>

#include "base/hex.hpp"
#include "tests/agent/agent_world.hpp"

namespace {
using namespace keyfence;
using namespace keyfence::test;
namespace agent = keyfence::engine::agent;

std::string session_policy(int ttl, int max_operations, bool confirm = false) {
    return "[pin]\nmode = \"session\"\nsession_ttl = " + std::to_string(ttl) +
           "\nsession_max_operations = " + std::to_string(max_operations) +
           "\nconfirm_each_operation = " + (confirm ? "true" : "false") + "\n";
}

// Signs once; the signature must verify.
void sign_once(AgentWorld& world, agent::AgentClient& client, CountingPinSource& pins) {
    const std::vector<std::uint8_t> digest(32, 0x11);
    auto reply = client.call(sign_request(digest), &pins);
    ASSERT_TRUE(reply) << reply.error().message();
    EXPECT_TRUE(verifies(read_file(world.softhsm().pubkey_pem("ecp256")), digest,
                         *base::from_hex(reply->value("signature", ""))));
}

nlohmann::json status(agent::AgentClient& client) {
    agent::Request request;
    request.op = agent::RequestOp::Status;
    auto reply = client.call(request, nullptr);
    EXPECT_TRUE(reply);
    return reply ? *reply : nlohmann::json();
}

// An agent with a session policy and one operation done: the session is open.
struct OpenSession {
    AgentWorld world;
    std::optional<agent::AgentClient> client;
    CountingPinSource pins;

    explicit OpenSession(int ttl = 300, int max_operations = 100, bool confirm = false) {
        world.set_policy(session_policy(ttl, max_operations, confirm));
        world.start();
        client.emplace(world.connect());
        sign_once(world, *client, pins);
        EXPECT_EQ(status(*client)["sessions"].size(), 1u);
    }
    /// The session is gone, and the next operation asks for the PIN again.
    void expect_ended_and_pin_asked_again() {
        EXPECT_TRUE(status(*client)["sessions"].empty());
        const int before = pins.asked.load();
        sign_once(world, *client, pins);
        EXPECT_EQ(pins.asked.load(), before + 1);
    }
};

TEST(AgentSession, PerOperationModeAsksForThePinEveryTime) {
    AgentWorld world;
    world.start();
    auto client = world.connect();
    CountingPinSource pins;
    for (int i = 0; i < 3; ++i) sign_once(world, client, pins);
    EXPECT_EQ(pins.asked.load(), 3);
    EXPECT_TRUE(status(client)["sessions"].empty());
}

TEST(AgentSession, OnePinServesTheSessionUntilItsOperationCap) {
    AgentWorld world;
    world.set_policy(session_policy(300, 3));
    world.start();
    auto client = world.connect();
    CountingPinSource pins;
    sign_once(world, client, pins);
    EXPECT_NE(pins.last_description.find("this PIN opens a session for 300 s or 3 operations"),
              std::string::npos)
        << pins.last_description;
    auto open = status(client)["sessions"];
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0]["token_label"], "test-token");
    EXPECT_EQ(open[0]["operations"], 1);
    sign_once(world, client, pins);
    sign_once(world, client, pins);
    EXPECT_EQ(pins.asked.load(), 1) << "three operations, one PIN";
    EXPECT_TRUE(status(client)["sessions"].empty()) << "the cap ends the session";
    sign_once(world, client, pins);
    EXPECT_EQ(pins.asked.load(), 2) << "after the cap the PIN is asked again";
    // Another client shares the session (that is the point of the agent).
    auto other = world.connect();
    CountingPinSource other_pins;
    sign_once(world, other, other_pins);
    EXPECT_EQ(other_pins.asked.load(), 0);
}

TEST(AgentSession, TheSessionEndsAtItsTtl) {
    OpenSession s(1);
    // The TTL is one second (the policy's least); the agent's sweep ends it while idle.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    s.expect_ended_and_pin_asked_again();
}

TEST(AgentSession, KeyfenceLockEndsEverySession) {
    OpenSession s;
    const auto lock = run_keyfence(s.world.softhsm(), {"lock"}, {.env = s.world.env()});
    EXPECT_EQ(lock.exit_code, 0) << lock.err;
    EXPECT_NE(lock.out.find("1 PIN session ended"), std::string::npos) << lock.out;
    s.expect_ended_and_pin_asked_again();
}

TEST(AgentSession, RemovingTheTokenEndsItsSession) {
    OpenSession s;
    auto& [world, client_slot, pins] = s;
    auto& client = *client_slot;
    // SoftHSM keeps each token in a directory of the store: taking it away is the software
    // token's removal (the module then reports the slot without a token).
    namespace fs = std::filesystem;
    const fs::path store = world.softhsm().dir() / "tokens";
    const fs::path away = world.softhsm().dir() / "removed";
    fs::create_directories(away);
    for (const auto& entry : fs::directory_iterator(store)) {
        fs::rename(entry.path(), away / entry.path().filename());
    }
    EXPECT_TRUE(status(client)["sessions"].empty());
    // Nothing is signed on the old login: the next operation finds no token (SoftHSM 2.6 does
    // not take a token directory back while running, so there is no re-insertion to show).
    auto reply = client.call(sign_request(std::vector<std::uint8_t>(32, 9)), &pins);
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, base::ErrorCode::TokenAbsent) << reply.error().message();
    EXPECT_EQ(pins.asked.load(), 1);
}

TEST(AgentSession, ConfirmEachOperationAsksEvenInsideTheSessionAndADeclineSignsNothing) {
    OpenSession s(300, 100, true);
    auto& [world, client_slot, pins] = s;
    auto& client = *client_slot;
    sign_once(world, client, pins);
    EXPECT_EQ(pins.asked.load(), 1);
    EXPECT_EQ(pins.confirmations.load(), 2);
    EXPECT_NE(pins.last_description.find("confirm that you want to sign"), std::string::npos);
    EXPECT_NE(pins.last_description.find("token: test-token"), std::string::npos);
    pins.decline = true;
    auto reply = client.call(sign_request(std::vector<std::uint8_t>(32, 3)), &pins);
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code, base::ErrorCode::Cancelled);
    const std::string log = read_file(world.softhsm().audit_log());
    EXPECT_NE(log.find("\"result\":\"cancelled\""), std::string::npos);
}

TEST(AgentSession, StoppingTheAgentEndsItsSessionsAndItsClientsLearnIt) {
    OpenSession s;
    // SIGTERM with a session open and a client connected: a clean exit (every session is
    // ended with C_Logout on the way), and the client's next call says the agent is gone.
    EXPECT_EQ(s.world.stop(), 0);
    auto reply = s.client->call(sign_request(std::vector<std::uint8_t>(32, 5)), &s.pins);
    ASSERT_FALSE(reply);
    EXPECT_NE(reply.error().message().find("the agent (keyfenced) stopped"), std::string::npos);
    s.world.start();
    auto client = s.world.connect();
    EXPECT_TRUE(status(client)["sessions"].empty());
    sign_once(s.world, client, s.pins);
    EXPECT_EQ(s.pins.asked.load(), 2) << "a new agent starts without a session";
}

}  // namespace
