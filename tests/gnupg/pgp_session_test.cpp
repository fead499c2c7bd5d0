// pin.mode = "session" for PGP/MIME on a PKCS#11 token (SoftHSM behind gnupg-pkcs11-scd), with
// a keyfenced of the test's own: after one PIN, later signatures and decryptions ask none (the
// PIN source then is empty and fails if asked); the session ends on `keyfence lock`, at its TTL
// with no further request (the home's daemons gone), at its operation cap, and when the agent
// stops — after each end the next operation needs the PIN.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/agent/agent_world.hpp"
#include "tests/gnupg/pgp_fixture.hpp"

namespace keyfence::test {
namespace {

class PgpSessionTest : public PgpTest {
  protected:
    void SetUp() override {
        const auto run = path("run");
        std::filesystem::create_directory(run);
        std::filesystem::permissions(run, std::filesystem::perms::owner_all);
        m_extra_env["XDG_RUNTIME_DIR"] = run.string();
        PgpTest::SetUp();
    }
    void TearDown() override {
        stop_agent();
        PgpTest::TearDown();
    }

    void set_policy(int ttl, int max_operations, bool confirm = false) {
        std::filesystem::create_directories(m_world.user_config().parent_path());
        write_file(m_world.user_config(),
                   "[pin]\nmode = \"session\"\nsession_ttl = " + std::to_string(ttl) +
                       "\nsession_max_operations = " + std::to_string(max_operations) +
                       "\nconfirm_each_operation = " + (confirm ? "true" : "false") + "\n");
    }
    void start_agent() {
        auto env = m_world.env(m_extra_env);
        m_agent = spawn({KEYFENCED_BINARY, "--no-p11-kit", "--module", k_softhsm_module}, env);
        for (int i = 0; i < 200; ++i) {
            if (run_keyfence(m_world, {"lock"}, {.env = m_extra_env}).out.rfind("locked:", 0) ==
                0) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL() << "keyfenced did not answer";
    }
    void stop_agent() {
        if (m_agent <= 0) return;
        ::kill(m_agent, SIGTERM);
        int status = 0;
        ::waitpid(m_agent, &status, 0);
        m_agent = -1;
    }

    /// keyfence with no PIN at all: fd 3 is empty, so a PIN request fails the command.
    ProcessResult kf_no_pin(std::vector<std::string> args) {
        args.insert(args.begin(), {"--pin-fd", "3"});
        return run_keyfence(m_world, args, {.env = m_extra_env, .fd3_data = ""});
    }
    std::vector<std::string> sign_args(const std::string& out) {
        return {"pgp",       "sign",
                "--homedir", home(),
                "--key",     k_me,
                "--in",      message("msg.eml", k_me, "In session.\n", k_my_name).string(),
                "--out",     path(out).string()};
    }
    /// Bob encrypts a message to the token key with gpg; returns the decrypt arguments.
    std::vector<std::string> decrypt_args(const std::string& out) {
        write_file(path("entity"), "Content-Type: text/plain\r\n\r\nFor the token only.\r\n");
        EXPECT_EQ(peer_gpg({"--trust-model", "always", "--armor", "-r", k_me, "-e", "-o",
                            path("entity.asc").string(), path("entity").string()})
                      .exit_code,
                  0);
        write_file(path("enc.eml"),
                   "From: <bob@example.org>\r\nTo: <" + std::string(k_me) +
                       ">\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; "
                       "protocol=\"application/pgp-encrypted\"; boundary=\"B\"\r\n\r\n--B\r\n"
                       "Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--B\r\n"
                       "Content-Type: application/octet-stream\r\n\r\n" +
                       read_file(path("entity.asc")) + "\r\n--B--\r\n");
        return {"pgp",   "decrypt",         "--homedir", home(), "--in", path("enc.eml").string(),
                "--out", path(out).string()};
    }
    /// How many GnuPG daemons run for Keyfence's home.
    int daemons() {
        auto found = run({"pgrep", "-f", "--", "--homedir " + home()});
        int n = 0;
        for (char c : found.out) n += c == '\n';
        return n;
    }
    /// Waits up to `seconds` for the home's daemons to be gone.
    bool daemons_gone(int seconds) {
        for (int i = 0; i < seconds * 10; ++i) {
            if (daemons() == 0) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }

    pid_t m_agent = -1;
};

TEST_F(PgpSessionTest, AfterOnePinSignAndDecryptAskNone) {
    set_policy(60, 10);
    start_agent();
    auto first = kf(sign_args("s1.eml"));
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_GT(daemons(), 0) << "the session's daemons stopped";
    // gnupg-pkcs11-scd keeps its login for the session's life (it logs out after 'pin-cache').
    EXPECT_NE(read_file(path("gnupg") / "gnupg-pkcs11-scd.conf").find("pin-cache 60\n"),
              std::string::npos);
    auto second = kf_no_pin(sign_args("s2.eml"));
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(read_file(path("s2.eml")).find("BEGIN PGP SIGNATURE"), std::string::npos);
    auto decrypted = kf_no_pin(decrypt_args("dec.eml"));
    ASSERT_EQ(decrypted.exit_code, 0) << decrypted.err;
    EXPECT_NE(read_file(path("dec.eml")).find("For the token only."), std::string::npos);
    auto doctor = run_keyfence(m_world, {"doctor"}, {.env = m_extra_env});
    EXPECT_NE(doctor.out.find("3 of 10 operations"), std::string::npos) << doctor.out;
    // Every operation is audited by the engine, in the session too.
    const std::string log = read_file(path("state") / "keyfence" / "audit.log");
    EXPECT_GE(std::count(log.begin(), log.end(), '\n'), 3) << log;
}

TEST_F(PgpSessionTest, MailProtectAndMailOpenUseTheSession) {
    set_policy(60, 10);
    start_agent();
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    // OpenPGP through `mail protect` (sign and encrypt to Bob) and `mail open` (a message to
    // the token key): no PIN, counted in the same session.
    auto protect =
        kf_no_pin({"mail", "protect", "--protocol", "openpgp", "--homedir", home(), "--key", k_me,
                   "--in", message("out.eml", k_me, "Sealed.\n", k_my_name).string(), "--out",
                   path("protected.eml").string()});
    ASSERT_EQ(protect.exit_code, 0) << protect.err;
    EXPECT_NE(read_file(path("protected.eml")).find("multipart/encrypted"), std::string::npos);
    (void)decrypt_args("unused.eml");  // writes enc.eml: unsigned, so `mail open` exits non-zero
    auto open = kf_no_pin({"mail", "open", "--homedir", home(), "--in", path("enc.eml").string(),
                           "--out", path("opened.eml").string()});
    EXPECT_NE(read_file(path("opened.eml")).find("For the token only."), std::string::npos)
        << open.out << open.err;
    auto doctor = run_keyfence(m_world, {"doctor"}, {.env = m_extra_env});
    EXPECT_NE(doctor.out.find("3 of 10 operations"), std::string::npos) << doctor.out;
}

TEST_F(PgpSessionTest, KeyfenceLockEndsItAndTheNextOperationNeedsThePin) {
    set_policy(60, 10);
    start_agent();
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    auto lock = run_keyfence(m_world, {"lock"}, {.env = m_extra_env});
    EXPECT_NE(lock.out.find("locked: 1 PIN session ended"), std::string::npos) << lock.out;
    EXPECT_TRUE(daemons_gone(5));
    EXPECT_NE(kf_no_pin(sign_args("s2.eml")).exit_code, 0);
    EXPECT_FALSE(std::filesystem::exists(path("s2.eml")));
    auto again = kf(sign_args("s3.eml"));
    EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST_F(PgpSessionTest, TheTtlEndsItWithoutAnyFurtherRequest) {
    set_policy(2, 10);
    start_agent();
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    ASSERT_GT(daemons(), 0);
    // TTL 2 s, the sweep within 1 s, then gpgconf (2 s) and SIGTERM/SIGKILL (2 s each) at most.
    EXPECT_TRUE(daemons_gone(12)) << "the agent did not end the session at its TTL";
    EXPECT_NE(kf_no_pin(sign_args("s2.eml")).exit_code, 0);
}

TEST_F(PgpSessionTest, TheTtlEndsItWhileTheAgentIsBusy) {
    set_policy(2, 10);
    start_agent();
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    ASSERT_GT(daemons(), 0);
    // Another client keeps the agent's queue busy: the worker never waits a whole second for
    // work, and must still end the session on time.
    std::atomic<bool> stop{false};
    std::thread busy([&] {
        auto client =
            engine::agent::AgentClient::connect(path("run").string() + "/keyfence/agent.sock");
        if (!client || !*client) return;
        engine::agent::Request sign;
        sign.op = engine::agent::RequestOp::Sign;
        sign.key_uri = "pkcs11:token=none;object=none";
        sign.digest = std::vector<std::uint8_t>(32, 1);
        while (!stop.load()) (void)(*client)->call(sign, nullptr);
    });
    const bool gone = daemons_gone(12);
    stop.store(true);
    busy.join();
    EXPECT_TRUE(gone) << "a busy agent did not end the session at its TTL";
}

TEST_F(PgpSessionTest, TheOperationCapEndsIt) {
    set_policy(60, 2);
    start_agent();
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    auto second = kf_no_pin(sign_args("s2.eml"));
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(daemons(), 0) << "the last operation of the session left its daemons";
    EXPECT_NE(kf_no_pin(sign_args("s3.eml")).exit_code, 0);
}

TEST_F(PgpSessionTest, StoppingTheAgentEndsIt) {
    set_policy(60, 10);
    start_agent();
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    ASSERT_GT(daemons(), 0);
    stop_agent();
    EXPECT_TRUE(daemons_gone(5));
    EXPECT_FALSE(std::filesystem::exists(path("run") / "keyfence" / "held-sessions.json"))
        << "an ended session is still recorded";
    EXPECT_NE(kf_no_pin(sign_args("s2.eml")).exit_code, 0);
}

TEST_F(PgpSessionTest, AKilledAgentsSessionEndsWhenTheNextAgentStarts) {
    set_policy(60, 10);
    start_agent();
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    ASSERT_GT(daemons(), 0);
    const auto record = path("run") / "keyfence" / "held-sessions.json";
    ASSERT_TRUE(std::filesystem::exists(record)) << "the agent did not record its session";
    EXPECT_NE(read_file(record).find(home()), std::string::npos) << read_file(record);
    EXPECT_EQ(std::filesystem::status(record).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

    // No clean stop: the token stays logged in behind the home's daemons.
    ::kill(m_agent, SIGKILL);
    ::waitpid(m_agent, nullptr, 0);
    m_agent = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_GT(daemons(), 0) << "the daemons went with the agent: nothing to recover";
    ASSERT_TRUE(std::filesystem::exists(record));

    // The next agent ends it at its start, before it serves anything (start_agent waits for
    // its first answer; nothing has touched the home since the kill).
    start_agent();
    EXPECT_TRUE(daemons_gone(2)) << "the new agent left the killed agent's session unlocked";
    EXPECT_FALSE(std::filesystem::exists(record));
    const std::string audit = read_file(m_world.audit_log());
    EXPECT_NE(audit.find("\"operation\":\"end-left-session\""), std::string::npos) << audit;
    EXPECT_NE(kf_no_pin(sign_args("s2.eml")).exit_code, 0);
    EXPECT_FALSE(std::filesystem::exists(path("s2.eml")));
}

TEST_F(PgpSessionTest, EachOperationIsStillConfirmedInsideTheSession) {
    set_policy(60, 10, true);
    start_agent();
    auto first_args = sign_args("s1.eml");
    first_args.insert(first_args.begin(), "--assume-confirmed");
    ASSERT_EQ(kf(first_args).exit_code, 0);
    ASSERT_GT(daemons(), 0);
    // With --pin-fd and no --assume-confirmed nobody confirms: refused (exit 8), nothing signed.
    auto refused = kf_no_pin(sign_args("s2.eml"));
    EXPECT_EQ(refused.exit_code, 8) << refused.err;
    EXPECT_FALSE(std::filesystem::exists(path("s2.eml")));
    auto confirmed_args = sign_args("s3.eml");
    confirmed_args.insert(confirmed_args.begin(), "--assume-confirmed");
    auto confirmed = kf_no_pin(confirmed_args);
    EXPECT_EQ(confirmed.exit_code, 0) << confirmed.err;
}

TEST_F(PgpSessionTest, PerOperationModeKeepsNoDaemonsEvenWithTheAgent) {
    start_agent();  // no policy file: per-operation
    ASSERT_EQ(kf(sign_args("s1.eml")).exit_code, 0);
    EXPECT_EQ(daemons(), 0);
    EXPECT_NE(read_file(path("gnupg") / "gnupg-pkcs11-scd.conf").find("pin-cache 1\n"),
              std::string::npos);
    EXPECT_NE(kf_no_pin(sign_args("s2.eml")).exit_code, 0);
}

}  // namespace
}  // namespace keyfence::test
