// One private-key operation per message (counted by OpenSC's pkcs11-spy in front of SoftHSM),
// bad input, enrollment and the certificate store.

#include <regex>

#include "tests/smime/smime_fixture.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

constexpr const char* k_spy = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so";

class SmimeSpyTest : public SmimeTest {
  protected:
    // Runs keyfence through pkcs11-spy and returns how often each private-key call was made.
    std::map<std::string, int> spied(std::vector<std::string> args) {
        const fs::path log = path("spy.log");
        fs::remove(log);
        args.insert(args.begin(), {"--no-p11-kit", "--module", k_spy, "--pin-fd", "3"});
        auto e = env();
        e["PKCS11SPY"] = k_softhsm_module;
        e["PKCS11SPY_OUTPUT"] = log.string();
        // pkcs11-spy 0.23 leaks at C_Finalize and is unloaded by then, so LeakSanitizer (in the
        // sanitized build) sees "<unknown module>" frames no suppression can name.
        e["ASAN_OPTIONS"] = "detect_leaks=0";
        auto r = run_keyfence(m_world, args, {.env = e, .fd3_data = "123456\n"}, false);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::map<std::string, int> counts;
        const std::string text = read_file(log);
        const std::regex call(R"(\n\d+: (C_Sign|C_Decrypt|C_DeriveKey|C_SignInit)\s)");
        for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
            ++counts[(*it)[1]];
        }
        return counts;
    }
};

TEST_F(SmimeSpyTest, ExactlyOnePrivateKeyOperationPerMessage) {
    ASSERT_TRUE(fs::exists(k_spy)) << "OpenSC's pkcs11-spy comes with scripts/install-deps";
    for (const char* label : {"rsa2048", "ecp256", "ecp384"}) {
        auto in = message("m.eml", label);
        auto sign = spied({"smime", "sign", "--key", key(label), "--in", in.string(), "--out",
                           path("s.eml").string()});
        EXPECT_EQ(sign["C_Sign"], 1) << label;
        EXPECT_EQ(sign["C_Decrypt"] + sign["C_DeriveKey"], 0) << label;
        auto opaque = spied({"smime", "sign", "--opaque", "--key", key(label), "--in", in.string(),
                             "--out", path("s.eml").string()});
        EXPECT_EQ(opaque["C_Sign"], 1) << label;

        ASSERT_EQ(
            kf({"smime", "encrypt", "--to", m_world.cert_pem(label), "--to",
                m_world.cert_pem("rsa3072"), "--in", in.string(), "--out", path("e.eml").string()})
                .exit_code,
            0);
        auto dec = spied({"smime", "decrypt", "--key", key(label), "--in", path("e.eml").string(),
                          "--out", path("d.eml").string()});
        EXPECT_EQ(dec["C_Decrypt"] + dec["C_DeriveKey"], 1) << label;
        EXPECT_EQ(dec["C_Sign"], 0) << label;
    }
    auto pss = spied({"smime", "sign", "--pss", "--key", key("rsa2048"), "--in",
                      message("m.eml", "rsa2048").string(), "--out", path("s.eml").string()});
    EXPECT_EQ(pss["C_Sign"], 1);
}

TEST_F(SmimeTest, BadInputNeverCrashesAndNeverLeavesOutput) {
    auto garbage_smime = [](const std::string& body) {
        return "From: rsa2048@example.org\r\nMIME-Version: 1.0\r\n"
               "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n" +
               body + "\r\n";
    };
    auto in = message("m.eml", "rsa2048");
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("rsa2048"), "--in", in.string(),
                  "--out", path("e.eml").string()})
                  .exit_code,
              0);
    const std::string good = read_file(path("e.eml"));
    const std::vector<std::pair<std::string, std::string>> inputs = {
        {"empty", ""},
        {"no headers", "just some text without a header block"},
        {"garbage cms", garbage_smime("R2FyYmFnZSBnYXJiYWdlIGdhcmJhZ2U=")},
        {"not base64", garbage_smime("!!!!****")},
        {"truncated cms", good.substr(0, good.size() / 2)},
        {"broken multipart/signed",
         "From: rsa2048@example.org\r\nContent-Type: multipart/signed; "
         "protocol=\"application/pkcs7-signature\"; boundary=\"x\"\r\n\r\n--x\r\nhello\r\n"},
    };
    for (const auto& [name, text] : inputs) {
        write_file(path("bad.eml"), text);
        for (std::vector<std::string> args :
             {std::vector<std::string>{"smime", "verify", "--ca", m_world.ca_pem()},
              {"smime", "decrypt", "--key", key("rsa2048")}}) {
            args.insert(args.end(),
                        {"--in", path("bad.eml").string(), "--out", path("out.eml").string()});
            auto r = kf(args);
            EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 7)
                << name << ": " << r.exit_code << r.err << r.out;
            EXPECT_FALSE(fs::exists(path("out.eml"))) << name;
        }
    }
}

TEST_F(SmimeTest, AlwaysAuthenticateKeysMakeCertificateRequests) {
    for (const char* label : {"rsa2048-always", "ecp256-always"}) {
        auto csr = kf({"smime", "csr", "--key", key(label), "--email", "alice@example.org", "--out",
                       path("req.pem").string()});
        ASSERT_EQ(csr.exit_code, 0) << label << csr.err;
        auto check = run({"openssl", "req", "-in", path("req.pem").string(), "-verify", "-noout"});
        EXPECT_EQ(check.exit_code, 0) << label << check.err;
    }
}

TEST_F(SmimeTest, EnrollmentCsrImportAndExport) {
    auto csr = kf({"smime", "csr", "--key", key("ecp256"), "--email", "alice@example.org",
                   "--subject", "/CN=Alice/O=Example", "--out", path("req.pem").string()});
    ASSERT_EQ(csr.exit_code, 0) << csr.err;
    auto check =
        run({"openssl", "req", "-in", path("req.pem").string(), "-verify", "-noout", "-text"});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_NE(check.out.find("email:alice@example.org"), std::string::npos) << check.out;
    EXPECT_NE(check.out.find("E-mail Protection"), std::string::npos);
    // The test CA issues the certificate (a software CA, test fixture only).
    auto issue = run({"openssl", "x509", "-req", "-in", path("req.pem").string(), "-CA",
                      m_world.ca_pem(), "-CAkey", (m_world.dir() / "certs/ca.key").string(),
                      "-CAcreateserial", "-CAserial", path("ca.srl").string(), "-days", "30",
                      "-copy_extensions", "copy", "-out", path("alice.pem").string()});
    ASSERT_EQ(issue.exit_code, 0) << issue.err;
    auto refused = kf({"smime", "import-cert", "--key", key("ecp256"), path("alice.pem")});
    EXPECT_EQ(refused.exit_code, 2) << "a different certificate is there: " << refused.err;
    auto wrong = kf(
        {"smime", "import-cert", "--key", key("rsa2048"), "--replace", path("alice.pem").string()});
    EXPECT_EQ(wrong.exit_code, 7) << wrong.err;
    auto imported = kf(
        {"smime", "import-cert", "--key", key("ecp256"), "--replace", path("alice.pem").string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    auto exported = kf({"certs", "export", "--key", key("ecp256")});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    EXPECT_EQ(exported.out, read_file(path("alice.pem")));
    // The new certificate signs: openssl verifies, and Keyfence binds it to alice's From:.
    write_file(path("m.eml"), "From: alice@example.org\nSubject: hi\n\nhello\n");
    ASSERT_EQ(kf({"smime", "sign", "--key", key("ecp256"), "--in", path("m.eml").string(), "--out",
                  path("s.eml").string()})
                  .exit_code,
              0);
    EXPECT_EQ(openssl_verify(path("s.eml")).exit_code, 0);
}

TEST_F(SmimeTest, CertificateStoreAddListAndEncryptByAddress) {
    auto none = kf({"smime", "encrypt", "--to", "ecp384@example.org", "--in",
                    message("m.eml", "rsa2048").string()});
    EXPECT_EQ(none.exit_code, 5) << none.err;
    ASSERT_EQ(kf({"certs", "add", m_world.cert_pem("ecp384")}).exit_code, 0);
    auto list = kf({"certs", "list"});
    EXPECT_NE(list.out.find("ecp384@example.org"), std::string::npos) << list.out;
    auto e = kf({"smime", "encrypt", "--to", "ECP384@example.org", "--in", path("m.eml").string(),
                 "--out", path("e.eml").string()});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(
        kf({"smime", "decrypt", "--key", key("ecp384"), "--in", path("e.eml").string()}).exit_code,
        0);
    // A verified signature adds the signer to the store.
    ASSERT_EQ(kf({"smime", "sign", "--key", key("ecp256"), "--in",
                  message("m2.eml", "ecp256").string(), "--out", path("s.eml").string()})
                  .exit_code,
              0);
    ASSERT_EQ(
        kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("s.eml").string()}).exit_code,
        0);
    EXPECT_NE(kf({"certs", "list"}).out.find("ecp256@example.org"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::test
