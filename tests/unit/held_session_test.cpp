// PinSessions' held sessions (PGP/MIME: GnuPG's daemons hold the unlocked state, the engine
// its limits and its end), with a clock the test moves.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/held_record.hpp"
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

TEST_F(HeldSessions, TheObserverSeesEachChangeAndTheEndOnlyAfterItRan) {
    std::vector<std::vector<HeldSnapshot>> seen;
    int ended_when_seen = -1;
    m_sessions.observe_held([&](const std::vector<HeldSnapshot>& held) {
        seen.push_back(held);
        ended_when_seen = m_ended;
    });
    ASSERT_TRUE(m_sessions.open_held(session(), {std::chrono::seconds(60), 10}));
    ASSERT_EQ(seen.size(), 1u);
    ASSERT_EQ(seen.back().size(), 1u);
    EXPECT_EQ(seen.back()[0].name, m_name);
    EXPECT_EQ(seen.back()[0].token_serial, "S1");
    EXPECT_EQ(seen.back()[0].expires, m_now + std::chrono::seconds(60));
    EXPECT_EQ(m_sessions.end_all(SessionEnd::Locked), 1u);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_TRUE(seen.back().empty());
    EXPECT_EQ(ended_when_seen, 1) << "recorded as ended before its end() ran";
}

TEST(HeldRecord, RoundTripsAndAnEmptyListRemovesTheFile) {
    char dir_template[] = "/tmp/keyfence-held-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::filesystem::path dir(dir_template);
    const std::string path = (dir / "held-sessions.json").string();
    auto none = read_held_records(path);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());

    const std::vector<HeldRecord> records = {
        {"/home/u/.local/share/keyfence/gnupg", "card", "D276000124010304", "pcsc:Reader 0", 42},
        {"/tmp/h2", "token", "cbd7", "/usr/lib/softhsm/libsofthsm2.so", 43}};
    ASSERT_TRUE(write_held_records(path, records));
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto back = read_held_records(path);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[0].homedir, records[0].homedir);
    EXPECT_EQ((*back)[0].module_path, "pcsc:Reader 0");
    EXPECT_EQ((*back)[1].token_serial, "cbd7");
    EXPECT_EQ((*back)[1].deadline, 43);
    // Only the record itself is left in the directory: the temporary file was renamed.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                            std::filesystem::directory_iterator()),
              1);

    ASSERT_TRUE(write_held_records(path, {}));
    EXPECT_FALSE(std::filesystem::exists(path));
    ASSERT_TRUE(write_held_records(path, {}));  // nothing to remove is fine

    std::ofstream(path) << "{\"held_sessions\": [{\"token_serial\": 1}]}";
    auto bad = read_held_records(path);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, base::ErrorCode::BadInput);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keyfence::engine
