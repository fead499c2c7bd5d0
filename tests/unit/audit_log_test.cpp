// The audit log's hash chain: records written by AuditLog verify; altering, removing,
// inserting or reordering a record is found and named by its line.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "engine/audit/audit_log.hpp"
#include "engine/audit/audit_time.hpp"
#include "engine/audit/audit_verify.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::engine::audit {
namespace {
namespace fs = std::filesystem;
using Kind = ChainProblem::Kind;

class AuditChain : public ::testing::Test {
  protected:
    void SetUp() override {
        auto log = AuditLog::open(path());
        ASSERT_TRUE(log) << log.error().message();
        for (int i = 1; i <= 5; ++i) {
            AuditEvent e;
            e.operation = "sign";
            e.protocol = "raw";
            e.key_uri = "pkcs11:token=t;object=k" + std::to_string(i);
            e.content_sha256 = std::string(64, static_cast<char>('a' + i));
            e.caller = Caller::self();
            ASSERT_TRUE(log->append(e));
        }
    }
    std::string path() const { return (m_dir.path() / "state" / "audit.log").string(); }

    std::vector<std::string> lines() const {
        std::istringstream in(test::read_file(path()));
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    }
    void write_lines(const std::vector<std::string>& l) const {
        std::string text;
        for (const auto& s : l) text += s + "\n";
        test::write_file(path(), text);
    }
    ChainProblem problem() const {
        auto report = verify_log(path());
        EXPECT_TRUE(report);
        EXPECT_TRUE(report->problem) << "the chain verified";
        return report->problem.value_or(ChainProblem{});
    }

    test::TempDir m_dir;
};

TEST_F(AuditChain, AnUntouchedLogVerifies) {
    auto report = verify_log(path());
    ASSERT_TRUE(report);
    EXPECT_FALSE(report->problem) << report->problem->message;
    EXPECT_EQ(report->records, 5u);
    const auto l = lines();
    ASSERT_EQ(l.size(), 5u);
    const auto first = nlohmann::json::parse(l[0]);
    EXPECT_EQ(first["seq"], 1);
    EXPECT_EQ(first["prev"], genesis_hash());
    EXPECT_EQ(nlohmann::json::parse(l[1])["prev"], first["hash"]);
    EXPECT_EQ(report->head, nlohmann::json::parse(l[4])["hash"]);
}

TEST_F(AuditChain, TheLogIsPrivate) {
    struct stat st {};
    ASSERT_EQ(::stat(path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((m_dir.path() / "state").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(AuditChain, AnAlteredRecordIsNamed) {
    auto l = lines();
    const auto at = l[2].find("object=k3");
    l[2].replace(at, 9, "object=k9");
    write_lines(l);
    const auto p = problem();
    EXPECT_EQ(p.kind, Kind::Altered);
    EXPECT_EQ(p.line, 3);
}

TEST_F(AuditChain, AnAlteredLastRecordIsNamed) {
    auto l = lines();
    auto last = nlohmann::json::parse(l[4]);
    last["outcome"]["result"] = "refused";
    l[4] = last.dump();
    write_lines(l);
    const auto p = problem();
    EXPECT_EQ(p.kind, Kind::Altered);
    EXPECT_EQ(p.line, 5);
}

TEST_F(AuditChain, ARemovedRecordIsNamed) {
    auto l = lines();
    l.erase(l.begin() + 1);
    write_lines(l);
    const auto p = problem();
    EXPECT_EQ(p.kind, Kind::Removed);
    EXPECT_EQ(p.line, 2);
    EXPECT_NE(p.message.find("record 2 is missing"), std::string::npos) << p.message;
}

TEST_F(AuditChain, AnInsertedCopyIsNamed) {
    auto l = lines();
    l.insert(l.begin() + 3, l[0]);  // a replayed record 1 at line 4
    write_lines(l);
    const auto p = problem();
    EXPECT_EQ(p.kind, Kind::Inserted);
    EXPECT_EQ(p.line, 4);
}

TEST_F(AuditChain, AnInsertedForgedRecordIsNamed) {
    auto l = lines();
    // A forger who computes a correct hash and link for a record with the next number.
    auto forged = nlohmann::json::parse(l[1]);
    forged["seq"] = 3;
    forged["prev"] = nlohmann::json::parse(l[1])["hash"];
    forged["key"]["uri"] = "pkcs11:token=t;object=forged";
    forged["hash"] = record_hash(forged);
    l.insert(l.begin() + 2, forged.dump());
    write_lines(l);
    const auto p = problem();
    EXPECT_EQ(p.kind, Kind::Inserted);
    EXPECT_EQ(p.line, 3);
}

TEST_F(AuditChain, AnInsertedForeignLineIsNamed) {
    auto l = lines();
    l.insert(l.begin() + 2, "{\"operation\":\"sign\"}");
    write_lines(l);
    const auto p = problem();
    EXPECT_EQ(p.kind, Kind::Damaged);
    EXPECT_EQ(p.line, 3);
}

TEST_F(AuditChain, ReorderedRecordsAreNamed) {
    auto l = lines();
    std::swap(l[1], l[2]);
    write_lines(l);
    auto p = problem();
    EXPECT_EQ(p.kind, Kind::Reordered);
    EXPECT_EQ(p.line, 2);

    l = lines();
    std::swap(l[1], l[2]);  // back
    std::swap(l[3], l[4]);  // the last two
    write_lines(l);
    p = problem();
    EXPECT_EQ(p.kind, Kind::Reordered);
    EXPECT_EQ(p.line, 4);
}

TEST_F(AuditChain, AppendingAfterDamageFails) {
    auto l = lines();
    l.back() = "not json";
    write_lines(l);
    auto log = AuditLog::open(path());
    ASSERT_TRUE(log);
    auto appended = log->append(AuditEvent{});
    ASSERT_FALSE(appended);
    EXPECT_EQ(appended.error().code, base::ErrorCode::Io);
}

TEST_F(AuditChain, AnotherWriterChainsOn) {
    // Two handles, as two keyfence processes would have: the chain stays intact.
    auto a = AuditLog::open(path());
    auto b = AuditLog::open(path());
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->append(AuditEvent{}));
    ASSERT_TRUE(b->append(AuditEvent{}));
    ASSERT_TRUE(a->append(AuditEvent{}));
    auto report = verify_log(path());
    ASSERT_TRUE(report);
    EXPECT_FALSE(report->problem);
    EXPECT_EQ(report->records, 8u);
}

TEST(AuditTime, SinceAcceptsDatesTimesAndDurations) {
    const auto now = std::chrono::system_clock::from_time_t(1714555815);  // 2024-05-01T09:30:15Z
    EXPECT_EQ(format_time(now), "2024-05-01T09:30:15.000Z");
    EXPECT_EQ(*parse_since("2024-05-01", now), "2024-05-01T00:00:00.000Z");
    EXPECT_EQ(*parse_since("2024-05-01T09:30", now), "2024-05-01T09:30:00.000Z");
    EXPECT_EQ(*parse_since("2024-05-01T09:30:15Z", now), "2024-05-01T09:30:15.000Z");
    EXPECT_EQ(*parse_since("15m", now), "2024-05-01T09:15:15.000Z");
    EXPECT_EQ(*parse_since("1d", now), "2024-04-30T09:30:15.000Z");
    EXPECT_FALSE(parse_since("yesterday", now));
    EXPECT_FALSE(parse_since("2024-5-1", now));
}

TEST(AuditPaths, XdgStateHomeAndPolicyPaths) {
    ::setenv("XDG_STATE_HOME", "/var/tmp/state", 1);
    ::setenv("HOME", "/home/u", 1);
    EXPECT_EQ(default_log_path(), "/var/tmp/state/keyfence/audit.log");
    EXPECT_EQ(resolve_log_path(""), "/var/tmp/state/keyfence/audit.log");
    EXPECT_EQ(resolve_log_path("~/audit/k.log"), "/home/u/audit/k.log");
    EXPECT_EQ(resolve_log_path("/var/log/k.log"), "/var/log/k.log");
    ::setenv("XDG_STATE_HOME", "relative", 1);  // invalid per the XDG spec: ignored
    EXPECT_EQ(default_log_path(), "/home/u/.local/state/keyfence/audit.log");
}

}  // namespace
}  // namespace keyfence::engine::audit
