// PINs on the command line's side: --pin-fd, a wrong PIN, and the pinentry source driven
// against a scripted pinentry program that speaks Assuan and logs what it was told.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

// A pinentry that answers every command with OK, GETPIN with `reply` (a D line and OK, or an
// ERR line), and appends each command it received to `log`.
fs::path scripted_pinentry(const fs::path& dir, const std::string& reply) {
    const fs::path script = dir / "scripted-pinentry";
    const fs::path log = dir / "pinentry.log";
    write_file(script,
               "#!/bin/bash\n"
               "echo 'OK Pleased to meet you'\n"
               "while IFS= read -r line; do\n"
               "  printf '%s\\n' \"$line\" >> '" +
                   log.string() +
                   "'\n"
                   "  case \"$line\" in\n"
                   "    GETPIN) printf '%s\\n' " +
                   reply +
                   " ;;\n"
                   "    BYE) echo OK; exit 0 ;;\n"
                   "    *) echo OK ;;\n"
                   "  esac\n"
                   "done\n");
    ::chmod(script.c_str(), 0700);
    return script;
}

class CliPin : public ::testing::Test {
  protected:
    void SetUp() override { write_file(data(), "contract v3\n"); }
    fs::path data() const { return m_world.dir() / "contract.txt"; }
    fs::path sig() const { return m_world.dir() / "contract.sig"; }
    std::vector<std::string> sign_args(const std::string& key,
                                       std::vector<std::string> globals = {"--pin-fd", "3"}) const {
        globals.insert(globals.end(),
                       {"sign", "--key", key, "--in", data().string(), "--out", sig().string()});
        return globals;
    }
    SoftHsmWorld m_world;
};

TEST_F(CliPin, AWrongPinExitsThreeAndSaysWhatToDo) {
    auto r = run_keyfence(m_world, sign_args("pkcs11:token=test-token;object=rsa2048"),
                          {.fd3_data = "654321\n"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("the PIN was wrong"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("CKR_PIN_INCORRECT"), std::string::npos);
    EXPECT_NE(r.err.find("never retries"), std::string::npos);
    EXPECT_EQ(r.err.find("654321"), std::string::npos) << "the PIN was echoed";
    EXPECT_FALSE(fs::exists(sig()));
    // The token counted it: keyfence tokens shows the wrong entry.
    auto tokens = run_keyfence(m_world, {"--json", "tokens"});
    bool count_low = false;
    const auto listing = nlohmann::json::parse(tokens.out);
    for (const auto& t : listing["tokens"]) {
        if (t.value("label", "") == "test-token") count_low = t["pin"]["count_low"];
    }
    EXPECT_TRUE(count_low) << tokens.out;
}

// CVE-2023-40660: OpenSC once accepted an empty PIN after caching. Keyfence never sends one, so
// the token counts nothing and no cached state can be reached through it.
TEST_F(CliPin, AnEmptyPinIsNeverSentToTheToken) {
    auto r = run_keyfence(m_world, sign_args("pkcs11:token=test-token;object=rsa2048"),
                          {.fd3_data = "\n"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("empty PIN"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sig()));
    auto tokens = run_keyfence(m_world, {"--json", "tokens"});
    const auto listing = nlohmann::json::parse(tokens.out);
    bool seen = false;
    for (const auto& t : listing["tokens"]) {
        if (t.value("label", "") != "test-token") continue;
        seen = true;
        EXPECT_FALSE(t["pin"]["count_low"]) << "the empty PIN reached the token: " << tokens.out;
    }
    EXPECT_TRUE(seen) << tokens.out;
}

TEST_F(CliPin, PinFdTakesOneLineAndIgnoresTheRest) {
    auto r = run_keyfence(m_world, sign_args("pkcs11:token=test-token;object=ecp256"),
                          {.fd3_data = "123456\r\nsecond line is not read\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(sig()));
}

TEST_F(CliPin, PinentryShowsTokenKeyOperationAndDigest) {
    const fs::path pinentry = scripted_pinentry(m_world.dir(), "'D 123456' OK");
    auto r = run_keyfence(m_world, sign_args("pkcs11:token=test-token;object=rsa2048",
                                             {"--pinentry", pinentry.string()}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto verify = run({"openssl", "dgst", "-sha256", "-verify", m_world.pubkey_pem("rsa2048"),
                       "-signature", sig().string(), data().string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.err;

    const std::string log = read_file(m_world.dir() / "pinentry.log");
    auto digest = run({"openssl", "dgst", "-sha256", "-r", data().string()});
    const std::string sha256 = digest.out.substr(0, 64);
    for (const std::string& expected :
         {std::string("SETTITLE"), std::string("SETDESC"), std::string("GETPIN"),
          std::string("sign"), std::string("rsa2048"), std::string("test-token"),
          std::string("SoftHSM v2"), std::string("SOFTWARE TOKEN"), sha256,
          data().filename().string()}) {
        EXPECT_NE(log.find(expected), std::string::npos) << expected << " not shown:\n" << log;
    }
    EXPECT_EQ(log.find("123456"), std::string::npos) << "the PIN came back in a command";
}

// What you see is what you sign: for a message, the prompt names the message by its From, To,
// Subject and Date and by the SHA-256 of the exact entity that is signed, which the test
// recomputes from the signed output.
TEST_F(CliPin, PinentryShowsTheMessageThatIsSigned) {
    const fs::path pinentry = scripted_pinentry(m_world.dir(), "'D 123456' OK");
    const fs::path in = m_world.dir() / "m.eml";
    const fs::path out = m_world.dir() / "s.eml";
    write_file(in,
               "From: Ada <rsa2048@example.org>\nTo: Bob <bob@example.org>\nSubject: Wire "
               "the funds\nDate: Tue, 2 Jan 2024 09:00:00 +0000\nMIME-Version: 1.0\n"
               "Content-Type: text/plain\n\nPay 100 to account 12.\n");
    auto r = run_keyfence(
        m_world,
        {"--pinentry", pinentry.string(), "smime", "sign", "--key",
         "pkcs11:token=test-token;object=rsa2048", "--in", in.string(), "--out", out.string()},
        {.env = {{"XDG_DATA_HOME", (m_world.dir() / "xdg").string()}}});
    ASSERT_EQ(r.exit_code, 0) << r.err;

    // The signed entity: the first body part of the multipart/signed output, whose bytes run
    // from after "--BOUNDARY\r\n" to the CRLF before the next delimiter (RFC 1847).
    const std::string signed_message = read_file(out);
    const std::string marker = "boundary=\"";
    const auto at = signed_message.find(marker);
    ASSERT_NE(at, std::string::npos) << signed_message;
    const std::string boundary = signed_message.substr(
        at + marker.size(), signed_message.find('"', at + marker.size()) - at - marker.size());
    const std::string delimiter = "--" + boundary + "\r\n";
    const auto begin = signed_message.find(delimiter) + delimiter.size();
    const auto end = signed_message.find("\r\n--" + boundary, begin);
    ASSERT_NE(end, std::string::npos);
    write_file(m_world.dir() / "entity", signed_message.substr(begin, end - begin));
    const std::string sha256 =
        run({"openssl", "dgst", "-sha256", "-r", (m_world.dir() / "entity").string()})
            .out.substr(0, 64);

    const std::string log = read_file(m_world.dir() / "pinentry.log");
    for (const std::string& expected :
         {std::string("sign"), std::string("rsa2048"), std::string("test-token"),
          std::string("rsa2048@example.org"), std::string("bob@example.org"),
          std::string("Wire the funds"), std::string("2 Jan 2024"), sha256}) {
        EXPECT_NE(log.find(expected), std::string::npos) << expected << " not shown:\n" << log;
    }
}

TEST_F(CliPin, PinentryShowsAPreviousWrongEntry) {
    auto wrong = run_keyfence(m_world, sign_args("pkcs11:token=test-token;object=ecp384"),
                              {.fd3_data = "000000\n"});
    ASSERT_EQ(wrong.exit_code, 3);
    const fs::path pinentry = scripted_pinentry(m_world.dir(), "'D 123456' OK");
    auto r = run_keyfence(m_world, sign_args("pkcs11:token=test-token;object=ecp384",
                                             {"--pinentry", pinentry.string()}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string log = read_file(m_world.dir() / "pinentry.log");
    EXPECT_NE(log.find("SETERROR A wrong PIN was entered before"), std::string::npos) << log;
}

TEST_F(CliPin, CancellingPinentrySendsNothingAndWritesNothing) {
    const fs::path pinentry =
        scripted_pinentry(m_world.dir(), "'ERR 83886179 Operation cancelled'");
    auto r = run_keyfence(m_world, sign_args("pkcs11:token=test-token;object=rsa2048",
                                             {"--pinentry", pinentry.string()}));
    EXPECT_EQ(r.exit_code, 8);
    EXPECT_NE(r.err.find("cancelled"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sig()));
    auto tokens = run_keyfence(m_world, {"--json", "tokens"});
    const auto listing = nlohmann::json::parse(tokens.out);
    for (const auto& t : listing["tokens"]) {
        if (t.value("label", "") == "test-token") {
            EXPECT_FALSE(t["pin"]["count_low"]);
        }
    }
}

TEST_F(CliPin, AMissingPinentrySaysHowToGiveThePin) {
    auto r = run_keyfence(m_world,
                          sign_args("pkcs11:token=test-token;object=rsa2048",
                                    {"--pinentry", (m_world.dir() / "no-such-pinentry").string()}));
    EXPECT_EQ(r.exit_code, 8);
    EXPECT_NE(r.err.find("--pin-fd"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace keyfence::test
