// PinSessions' held sessions (PGP/MIME: GnuPG's daemons hold the unlocked state, the engine
// its limits and its end), with a clock the test moves.

#include <gtest/gtest.h>

#include "engine/session.hpp"

namespace keyfence::engine {
namespace {

class HeldSessions : public ::testing::Test {
  protected:
    HeldSession session(const std::string& serial = "S1") {
        HeldSession s;
        s.name = "gnupg:/home/u/g";
        s.token_label = "token";
        s.token_serial = serial;
        s.module_path = "pcsc:reader";
        s.present = [this] { return m_present; };
        s.end = [this] { ++m_ended; };
        return s;
    }
    std::chrono::steady_clock::time_point m_now{};
    bool m_present = true;
    int m_ended = 0;
    PinSessions m_sessions{[this] { return m_now; }};
    const std::string m_name = "gnupg:/home/u/g";
};

TEST_F(HeldSessions, CountsOperationsAndTheLastOneIsTheClients) {
    ASSERT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(60), 3}));
    EXPECT_EQ(m_sessions.use_held(m_name, "S1"), HeldUse::Counted);  // 2 of 3
    EXPECT_EQ(m_sessions.use_held(m_name, "S1"), HeldUse::Last);     // 3 of 3
    EXPECT_EQ(m_sessions.use_held(m_name, "S1"), HeldUse::None);
    EXPECT_TRUE(m_sessions.list().empty());
    EXPECT_EQ(m_ended, 0);  // the client ends it after its last operation
    // Should it not, the engine does, a little later.
    m_now += PinSessions::k_held_grace;
    EXPECT_EQ(m_sessions.sweep(), 1u);
    EXPECT_EQ(m_ended, 1);
}

TEST_F(HeldSessions, TheTtlEndsItOnTheSweepWithoutARequest) {
    ASSERT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(5), 10}));
    m_now += std::chrono::seconds(4);
    EXPECT_EQ(m_sessions.sweep(), 0u);
    m_now += std::chrono::seconds(1);
    EXPECT_EQ(m_sessions.sweep(), 1u);
    EXPECT_EQ(m_ended, 1);
    EXPECT_EQ(m_sessions.use_held(m_name, "S1"), HeldUse::None);
}

TEST_F(HeldSessions, RemovalAnotherTokenAndLockEndIt) {
    ASSERT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(60), 10}));
    m_present = false;
    EXPECT_EQ(m_sessions.use_held(m_name, "S1"), HeldUse::None);
    EXPECT_EQ(m_ended, 1);
    m_present = true;
    ASSERT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(60), 10}));
    EXPECT_EQ(m_sessions.use_held(m_name, "S2"), HeldUse::None);  // other token, same daemons
    EXPECT_EQ(m_ended, 2);
    ASSERT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(60), 10}));
    EXPECT_EQ(m_sessions.end_all(SessionEnd::Locked), 1u);
    EXPECT_EQ(m_ended, 3);
}

TEST_F(HeldSessions, APinInsideALiveSessionKeepsItsTtlAndCount) {
    ASSERT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(10), 4}));
    m_now += std::chrono::seconds(6);
    EXPECT_EQ(m_sessions.use_held(m_name, "S1"), HeldUse::Counted);  // 2 of 4
    // gpg asked the PIN for it (a card's PW1 for decryption): the session goes on as it was.
    EXPECT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(10), 4}));
    ASSERT_EQ(m_sessions.list().size(), 1u);
    EXPECT_EQ(m_sessions.list()[0].operations, 2);
    EXPECT_EQ(m_sessions.list()[0].seconds_left, 4);
    EXPECT_EQ(m_ended, 0);
}

TEST_F(HeldSessions, ACapOfOneOpensNothing) {
    EXPECT_FALSE(m_sessions.open_held(session(), {std::chrono::seconds(60), 1}));
    EXPECT_EQ(m_sessions.size(), 0u);
}

}  // namespace
}  // namespace keyfence::engine
