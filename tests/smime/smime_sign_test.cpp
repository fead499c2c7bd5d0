// smime sign and verify, judged by `openssl cms -verify`: every key type, detached and opaque,
// the corpus of awkward messages, and the failures verify must report.

#include "tests/smime/smime_fixture.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

TEST_F(SmimeTest, EveryKeyTypeDetachedAndOpaqueVerifiesWithOpenSsl) {
    struct Case {
        const char* label;
        std::vector<std::string> extra;
    };
    const std::vector<Case> cases = {{"rsa2048", {}},
                                     {"rsa2048", {"--pss"}},
                                     {"rsa3072", {"--pss", "--hash", "sha512"}},
                                     {"ecp256", {}},
                                     {"ecp384", {"--hash", "sha384"}}};
    for (const auto& c : cases) {
        for (bool opaque : {false, true}) {
            auto in = message("m.eml", c.label);
            std::vector<std::string> args = {"smime", "sign",      "--key", key(c.label),
                                             "--in",  in.string(), "--out", path("s.eml").string()};
            args.insert(args.end(), c.extra.begin(), c.extra.end());
            if (opaque) args.push_back("--opaque");
            auto r = kf(args);
            ASSERT_EQ(r.exit_code, 0) << c.label << " " << r.err;
            const std::string out = read_file(path("s.eml"));
            EXPECT_NE(out.find(opaque ? "smime-type=signed-data" : "multipart/signed"),
                      std::string::npos);
            EXPECT_NE(out.find("Subject: test"), std::string::npos) << "outer headers kept";
            auto v = openssl_verify(path("s.eml"));
            EXPECT_EQ(v.exit_code, 0) << c.label << " opaque=" << opaque << "\n" << v.err;
            auto k =
                kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("s.eml").string()});
            EXPECT_EQ(k.exit_code, 0) << c.label << "\n" << k.out << k.err;
            EXPECT_NE(k.out.find("Result: VERIFIED"), std::string::npos);
        }
    }
}

TEST_F(SmimeTest, MicalgAndSignedAttributesAreThere) {
    auto in = message("m.eml", "ecp384");
    ASSERT_EQ(kf({"smime", "sign", "--key", key("ecp384"), "--hash", "sha384", "--in", in.string(),
                  "--out", path("s.eml").string()})
                  .exit_code,
              0);
    EXPECT_NE(read_file(path("s.eml")).find("micalg=sha-384"), std::string::npos);
    auto print = run({"openssl", "cms", "-cmsout", "-print", "-in", path("s.eml").string()});
    for (const char* attr : {"contentType", "messageDigest", "signingTime", "S/MIME Capabilities",
                             "signingCertificateV2"}) {
        EXPECT_NE(print.out.find(attr), std::string::npos) << attr;
    }
}

TEST_F(SmimeTest, TheCorpusSignsAndVerifiesWithKeyfenceAndOpenSsl) {
    const fs::path corpus = fs::path(KEYFENCE_SOURCE_DIR) / "tests/data/smime";
    int files = 0;
    for (const auto& entry : fs::directory_iterator(corpus)) {
        if (entry.path().extension() != ".eml") continue;
        ++files;
        for (bool opaque : {false, true}) {
            std::vector<std::string> args = {"smime", "sign",
                                             "--key", key("rsa2048"),
                                             "--in",  entry.path().string(),
                                             "--out", path("s.eml").string()};
            if (opaque) args.push_back("--opaque");
            auto r = kf(args);
            ASSERT_EQ(r.exit_code, 0) << entry.path() << r.err;
            EXPECT_EQ(openssl_verify(path("s.eml")).exit_code, 0) << entry.path();
            auto v =
                kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("s.eml").string()});
            EXPECT_EQ(v.exit_code, 0) << entry.path() << " opaque=" << opaque << v.out;
        }
    }
    EXPECT_GE(files, 10);
}

TEST_F(SmimeTest, VerifyOutWritesOnlyTheSignedContent) {
    auto in = message("m.eml", "rsa2048", "only this\n");
    ASSERT_EQ(kf({"smime", "sign", "--key", key("rsa2048"), "--in", in.string(), "--out",
                  path("s.eml").string()})
                  .exit_code,
              0);
    auto v = kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("s.eml").string(),
                 "--out", path("content").string()});
    ASSERT_EQ(v.exit_code, 0) << v.out;
    const std::string content = read_file(path("content"));
    EXPECT_NE(content.find("only this\r\n"), std::string::npos);
    EXPECT_EQ(content.find("Subject:"), std::string::npos);
    EXPECT_EQ(content.find("pkcs7"), std::string::npos);
}

TEST_F(SmimeTest, TamperedContentForgedFromAndUntrustedCaExitOne) {
    auto in = message("m.eml", "rsa2048", "Pay 10 euros.\n");
    ASSERT_EQ(kf({"smime", "sign", "--key", key("rsa2048"), "--in", in.string(), "--out",
                  path("s.eml").string()})
                  .exit_code,
              0);
    const std::string good = read_file(path("s.eml"));
    auto verify = [&](const std::string& text, std::vector<std::string> extra = {}) {
        write_file(path("t.eml"), text);
        std::vector<std::string> args = {
            "smime", "verify", "--in", path("t.eml").string(), "--out", path("content").string()};
        if (extra.empty()) extra = {"--ca", m_world.ca_pem()};
        args.insert(args.end(), extra.begin(), extra.end());
        return kf(args);
    };
    std::string tampered = good;
    tampered.replace(tampered.find("Pay 10"), 6, "Pay 99");
    auto t = verify(tampered);
    EXPECT_EQ(t.exit_code, 1);
    EXPECT_NE(t.out.find("does not match the content"), std::string::npos) << t.out;
    EXPECT_NE(openssl_verify(path("t.eml")).exit_code, 0);

    std::string forged = good;
    forged.replace(forged.find("rsa2048@example.org"), 19, "ceo@example.org");
    auto f = verify(forged);
    EXPECT_EQ(f.exit_code, 1);
    EXPECT_NE(f.out.find("is not the signer's address"), std::string::npos) << f.out;

    auto untrusted = verify(good, {"--ca", m_world.cert_pem("ecp256")});
    EXPECT_EQ(untrusted.exit_code, 1);
    EXPECT_NE(untrusted.out.find("NOT TRUSTED"), std::string::npos) << untrusted.out;
    EXPECT_FALSE(fs::exists(path("content"))) << "nothing is written for a failed check";

    auto json = run_keyfence(
        m_world,
        {"--json", "smime", "verify", "--ca", m_world.ca_pem(), "--in", path("s.eml").string()},
        {.env = env()});
    EXPECT_EQ(json.exit_code, 0);
    EXPECT_NE(json.out.find("\"verified\": true"), std::string::npos) << json.out;
}

TEST_F(SmimeTest, APartlySignedMessageIsNotReportedAsSigned) {
    auto in = message("m.eml", "rsa2048");
    ASSERT_EQ(kf({"smime", "sign", "--key", key("rsa2048"), "--in", in.string(), "--out",
                  path("s.eml").string()})
                  .exit_code,
              0);
    // Wrap the signed body in a multipart/mixed with an unsigned part in front of it.
    std::string s = read_file(path("s.eml"));
    const std::size_t ct = s.find("Content-Type: multipart/signed");
    const std::string wrapped =
        s.substr(0, ct) +
        "Content-Type: multipart/mixed; boundary=\"wrap\"\r\n\r\n--wrap\r\n"
        "Content-Type: text/plain\r\n\r\nSend the money to account X.\r\n--wrap\r\n" +
        s.substr(ct) + "\r\n--wrap--\r\n";
    write_file(path("w.eml"), wrapped);
    auto v = kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("w.eml").string()});
    EXPECT_EQ(v.exit_code, 1);
    EXPECT_NE(v.out.find("only a part of this message is signed"), std::string::npos) << v.out;
}

TEST_F(SmimeTest, BadSignRequestsFailWithoutOutput) {
    auto in = message("m.eml", "ecp256");
    auto r = kf({"smime", "sign", "--key", key("ecp256"), "--pss", "--in", in.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    auto ed = kf({"smime", "sign", "--key", "pkcs11:token=mixed-token;object=ed25519", "--in",
                  in.string(), "--out", path("s.eml").string()});
    EXPECT_NE(ed.exit_code, 0);
    EXPECT_FALSE(fs::exists(path("s.eml")));
}

}  // namespace
}  // namespace keyfence::test

namespace keyfence::test {
namespace {

// gpgsm (GnuPG's S/MIME tool) as a second judge, in a private GNUPGHOME that trusts the test CA.
TEST_F(SmimeTest, GpgsmVerifiesWhatKeyfenceSigns) {
    const auto home = gpgsm_home();
    const ProcessOptions& gpg = home->options;
    for (const char* label : {"rsa2048", "ecp256", "ecp384"}) {
        auto in = message("m.eml", label);
        ASSERT_EQ(kf({"smime", "sign", "--key", key(label), "--in", in.string(), "--out",
                      path("s.eml").string()})
                      .exit_code,
                  0);
        // The detached signature and the signed bytes, cut out by openssl.
        ASSERT_EQ(run({"openssl", "cms", "-cmsout", "-in", path("s.eml").string(), "-outform",
                       "DER", "-out", path("sig.der").string()})
                      .exit_code,
                  0);
        ASSERT_EQ(run({"openssl", "cms", "-verify", "-noverify", "-in", path("s.eml").string(),
                       "-out", path("content").string()})
                      .exit_code,
                  0);
        auto v = run({"gpgsm", "--batch", "--disable-crl-checks", "--verify",
                      path("sig.der").string(), path("content").string()},
                     gpg);
        EXPECT_EQ(v.exit_code, 0) << label << v.err;
        EXPECT_NE(v.err.find("Good signature"), std::string::npos) << label << v.err;
    }
}

TEST_F(SmimeTest, AnAlwaysAuthenticateKeySignsWithOnePinEntry) {
    // ecp256-always has CKA_ALWAYS_AUTHENTICATE: SoftHSM refuses C_Sign until a
    // context-specific login; the lease gives it the PIN read once from fd 3 (which holds it
    // once: a second prompt would find nothing and fail).
    auto in = message("m.eml", "ecp256-always");
    for (const char* mode : {"detached", "opaque"}) {
        std::vector<std::string> args = {"smime", "sign",      "--key", key("ecp256-always"),
                                         "--in",  in.string(), "--out", path("s.eml").string()};
        if (std::string(mode) == "opaque") args.push_back("--opaque");
        auto r = kf(args);
        ASSERT_EQ(r.exit_code, 0) << mode << r.err;
        auto o = openssl_verify(path("s.eml"));
        EXPECT_EQ(o.exit_code, 0) << mode << o.err;
        auto v = kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("s.eml").string()});
        EXPECT_EQ(v.exit_code, 0) << mode << v.out << v.err;
    }
}

TEST_F(SmimeTest, AnAlwaysAuthenticateRsaKeySignsWithOnePinEntry) {
    // PKCS#1 v1.5 and PSS, detached and opaque: the delegated key gives the lease the digest
    // and the padding; openssl judges.
    auto in = message("m.eml", "rsa2048-always");
    for (const char* mode : {"detached", "opaque"}) {
        for (const bool pss : {false, true}) {
            std::vector<std::string> args = {"smime", "sign",      "--key", key("rsa2048-always"),
                                             "--in",  in.string(), "--out", path("s.eml").string()};
            if (std::string(mode) == "opaque") args.push_back("--opaque");
            if (pss) args.push_back("--pss");
            auto r = kf(args);
            ASSERT_EQ(r.exit_code, 0) << mode << pss << r.err;
            auto o = openssl_verify(path("s.eml"));
            EXPECT_EQ(o.exit_code, 0) << mode << pss << o.err;
        }
    }
}

}  // namespace
}  // namespace keyfence::test
