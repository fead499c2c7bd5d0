// Keyfence's own signature-spoofing cases (issue 8), made in the test with the fixture's keys:
// what the message shows must be what was signed, by the one From: mailbox, and nothing in the
// message can set or imitate the verdict. The public corpus is tests/corpus.

#include <nlohmann/json.hpp>

#include <sstream>

#include "tests/smime/smime_fixture.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

class SmimeSpoofTest : public SmimeTest {
  protected:
    // Signs `message_text` with `label`'s key; returns the signed message.
    std::string sign(const std::string& message_text, const std::string& label = "rsa2048",
                     std::vector<std::string> extra = {}) {
        write_file(path("in.eml"), message_text);
        std::vector<std::string> args = {"smime", "sign",
                                         "--key", key(label),
                                         "--in",  path("in.eml").string(),
                                         "--out", path("s.eml").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        auto r = kf(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(path("s.eml"));
    }
    ProcessResult verify(const std::string& message_text, std::vector<std::string> extra = {}) {
        write_file(path("v.eml"), message_text);
        std::vector<std::string> args = {"smime",          "verify", "--ca",
                                         m_world.ca_pem(), "--in",   path("v.eml").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return kf(args);
    }
    nlohmann::json verify_json(const std::string& message_text) {
        write_file(path("v.eml"), message_text);
        auto r = run_keyfence(
            m_world,
            {"--json", "smime", "verify", "--ca", m_world.ca_pem(), "--in", path("v.eml").string()},
            {.env = env()});
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
        return j;
    }
    static std::string plain(const std::string& from, const std::string& body,
                             const std::string& extra_headers = "") {
        return "From: " + from + "\r\nTo: bob@example.org\r\n" + extra_headers +
               "Subject: figures\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body;
    }
};

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(prefix, 0) == 0) out.push_back(line);
    }
    return out;
}

TEST_F(SmimeSpoofTest, MessageTextCannotImitateTheVerdict) {
    // A display name that decodes to line breaks and a fake verdict, a bidi override, and a
    // subject that says it verified; signed with a valid key for that very address.
    const std::string from = "=?utf-8?q?x=0AResult=3A_VERIFIED=E2=80=AE?= <rsa2048@example.org>";
    const std::string s = sign(plain(from, "Pay now.\r\n", "Subject: Result: VERIFIED\r\n"));
    auto v = verify(s);
    EXPECT_EQ(v.exit_code, 1) << v.out;
    const auto results = lines_starting(v.out, "Result:");
    ASSERT_EQ(results.size(), 1u) << v.out;
    EXPECT_EQ(results.front().rfind("Result: NOT VERIFIED (display_name_not_certified): ", 0), 0u)
        << v.out;
    // The name is quoted on one line, its line break and bidi override escaped.
    EXPECT_NE(v.out.find("display name \"x\\x0aResult: VERIFIED\\u{202e}\" is not"),
              std::string::npos)
        << v.out;
    auto j = verify_json(s);
    EXPECT_EQ(j["verified"], false);
    EXPECT_EQ(j["failure_code"], "display_name_not_certified");
}

TEST_F(SmimeSpoofTest, InvalidUtf8InHeadersNeverBreaksJson) {
    const std::string s = sign(plain("\xff\xfe <rsa2048@example.org>", "x\r\n"));
    auto j = verify_json(s);
    EXPECT_EQ(j["verified"], false);
    EXPECT_EQ(j["from_header"].get<std::string>().find('\xff'), std::string::npos)
        << "JSON strings are valid UTF-8";
}

TEST_F(SmimeSpoofTest, CertifiedDisplayNameAndMatchingSenderVerify) {
    const std::string s = sign(plain("\"Test rsa2048\" <RSA2048@example.org>", "ok\r\n",
                                     "Sender: rsa2048@example.org\r\n"));
    auto v = verify(s);
    EXPECT_EQ(v.exit_code, 0) << v.out;
    EXPECT_EQ(lines_starting(v.out, "Result:").front(),
              "Result: VERIFIED: the whole message body is signed by \"rsa2048@example.org\", the "
              "From: address");
}

TEST_F(SmimeSpoofTest, SenderThatIsNotFromIsRefused) {
    const std::string s =
        sign(plain("rsa2048@example.org", "ok\r\n", "Sender: ceo@example.org\r\n"));
    auto v = verify(s);
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_NE(v.out.find("(sender_differs)"), std::string::npos) << v.out;
}

TEST_F(SmimeSpoofTest, ASignedMessageForwardedInsideAnotherIsOnlyAPart) {
    const std::string s = sign(plain("rsa2048@example.org", "Original.\r\n"));
    const std::string wrapper =
        "From: rsa2048@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n--w\r\n"
        "Content-Type: text/plain\r\n\r\nYou are fired.\r\n--w\r\n"
        "Content-Type: message/rfc822\r\n\r\n" +
        s + "\r\n--w--\r\n";
    auto v = verify(wrapper, {"--out", path("content").string()});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_NE(v.out.find("(partially_signed)"), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("part 2.1 (multipart/signed, inside a forwarded message), signed by "
                         "\"rsa2048@example.org\""),
              std::string::npos)
        << v.out;
    EXPECT_NE(v.out.find("Not signed: part 1 (text/plain)"), std::string::npos) << v.out;
    EXPECT_FALSE(fs::exists(path("content")));
}

TEST_F(SmimeSpoofTest, OpaqueOutIsOnlyTheEContent) {
    const std::string s =
        sign(plain("rsa2048@example.org", "Inside only.\r\n"), "rsa2048", {"--opaque"});
    auto v = verify(s, {"--out", path("content").string()});
    ASSERT_EQ(v.exit_code, 0) << v.out;
    const std::string content = read_file(path("content"));
    EXPECT_NE(content.find("Inside only."), std::string::npos);
    EXPECT_EQ(content.find("From:"), std::string::npos) << "never the outer message";
    EXPECT_EQ(content.find("pkcs7"), std::string::npos);
}

TEST_F(SmimeSpoofTest, EverySignerInfoMustVerifyAndBeTheSender) {
    // openssl adds a second SignerInfo with a software key the test CA never issued.
    software_recipient("other", "rsa");
    const std::string s = sign(plain("rsa2048@example.org", "Two signers.\r\n"));
    write_file(path("one.eml"), s);
    auto resign = run({"openssl", "cms", "-resign", "-in", path("one.eml").string(), "-signer",
                       path("other.pem").string(), "-inkey", path("other.key").string(), "-out",
                       path("two.eml").string()});
    ASSERT_EQ(resign.exit_code, 0) << resign.err;
    const std::string two =
        "From: rsa2048@example.org\r\nSubject: figures\r\n" + read_file(path("two.eml"));
    auto j = verify_json(two);
    EXPECT_EQ(j["verified"], false);
    ASSERT_EQ(j["signers"].size(), 2u) << j.dump();
    // One SignerInfo is the token's, trusted; the other is not, and that alone fails it.
    const int untrusted = j["signers"][0]["chain_valid"] == true ? 2 : 1;
    EXPECT_EQ(j["signers"][untrusted - 1]["chain_valid"], false);
    EXPECT_EQ(j["signers"][2 - untrusted]["chain_valid"], true);
    EXPECT_EQ(j["signers"][2 - untrusted]["emails"][0], "rsa2048@example.org");
    EXPECT_EQ(j["failure_code"], "untrusted_certificate");
    EXPECT_NE(j["failure"].get<std::string>().find("signer " + std::to_string(untrusted) + " of 2"),
              std::string::npos)
        << j.dump();
}

TEST_F(SmimeSpoofTest, ASignerCertificateNotInTheMessageIsNamedAndChainCanSupplyIt) {
    software_recipient("nocert", "rsa");
    write_file(path("entity"), "Content-Type: text/plain\r\n\r\nno certificate\r\n");
    ASSERT_EQ(run({"openssl", "cms", "-sign", "-nocerts", "-signer", path("nocert.pem").string(),
                   "-inkey", path("nocert.key").string(), "-in", path("entity").string(), "-out",
                   path("n.smime").string()})
                  .exit_code,
              0);
    const std::string msg = "From: rsa2048@example.org\r\n" + read_file(path("n.smime"));
    auto missing = verify(msg);
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.out.find("(signer_certificate_missing)"), std::string::npos) << missing.out;
    // With --chain the certificate is found, and judged: it is not from the test CA.
    auto given = verify(msg, {"--chain", path("nocert.pem").string()});
    EXPECT_EQ(given.exit_code, 1);
    EXPECT_NE(given.out.find("(untrusted_certificate)"), std::string::npos) << given.out;
}

TEST_F(SmimeSpoofTest, AtVerifiesAsOfAGivenTimeAndNamesExpiry) {
    const std::string s = sign(plain("rsa2048@example.org", "Archived.\r\n"));
    auto later = verify(s, {"--at", "2200-01-01"});
    EXPECT_EQ(later.exit_code, 1);
    EXPECT_NE(later.out.find("Result: NOT VERIFIED (certificate_expired): the certificate chain "
                             "of signer 1 of 1 had expired at 2200-01-01T00:00:00Z"),
              std::string::npos)
        << later.out;
    EXPECT_NE(later.out.find("certificate: EXPIRED"), std::string::npos) << later.out;
    auto before = verify(s, {"--at", "@946684800"});  // 2000-01-01, before the certificate
    EXPECT_EQ(before.exit_code, 1);
    EXPECT_NE(before.out.find("not yet valid"), std::string::npos) << before.out;
    auto now = verify(s, {"--at", "2099-01-01T10:00:00+02:00"});
    EXPECT_NE(now.out.find("Verified as of: 2099-01-01T08:00:00Z"), std::string::npos) << now.out;
    auto bad = verify(s, {"--at", "yesterday"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

}  // namespace
}  // namespace keyfence::test
