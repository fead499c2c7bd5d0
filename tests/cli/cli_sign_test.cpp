// keyfence sign, judged by OpenSSL's own command line: what Keyfence signs, `openssl dgst
// -verify` must accept with the public key from the certificate.

#include <gtest/gtest.h>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

class CliSign : public ::testing::Test {
  protected:
    void SetUp() override { write_file(data(), "Meet at the usual place at noon.\n"); }
    fs::path data() const { return m_world.dir() / "data.txt"; }
    fs::path sig() const { return m_world.dir() / "data.sig"; }

    ProcessResult sign(const std::string& key, std::vector<std::string> extra = {},
                       std::string pin = k_user_pin) {
        std::vector<std::string> args = {"--pin-fd",      "3",     "sign",
                                         "--key",         key,     "--in",
                                         data().string(), "--out", sig().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_keyfence(m_world, args, {.fd3_data = pin + "\n"});
    }

    ProcessResult openssl_verify(const std::string& label, const std::string& hash,
                                 std::vector<std::string> sigopts = {}) {
        std::vector<std::string> argv = {
            "openssl",    "dgst",        "-" + hash, "-verify", m_world.pubkey_pem(label),
            "-signature", sig().string()};
        argv.insert(argv.end(), sigopts.begin(), sigopts.end());
        argv.push_back(data().string());
        return run(argv);
    }

    SoftHsmWorld m_world;
};

TEST_F(CliSign, EveryKeyTypeVerifiesWithOpenSsl) {
    for (const char* label : {"rsa2048", "rsa3072", "ecp256", "ecp384", "ecp256-always"}) {
        auto r = sign(std::string("pkcs11:token=test-token;object=") + label);
        ASSERT_EQ(r.exit_code, 0) << label << "\n" << r.err;
        auto v = openssl_verify(label, "sha256");
        EXPECT_EQ(v.exit_code, 0) << label << "\n" << v.out << v.err;
        EXPECT_NE(v.out.find("Verified OK"), std::string::npos) << label;
    }
}

TEST_F(CliSign, PssAndLongerHashesVerify) {
    auto pss = sign("pkcs11:token=test-token;object=rsa2048", {"--pss"});
    ASSERT_EQ(pss.exit_code, 0) << pss.err;
    EXPECT_EQ(openssl_verify("rsa2048", "sha256",
                             {"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"})
                  .exit_code,
              0);
    // A PSS signature is not a PKCS#1 v1.5 one: OpenSSL must reject it that way.
    EXPECT_NE(openssl_verify("rsa2048", "sha256").exit_code, 0);

    auto sha384 = sign("pkcs11:token=test-token;object=ecp384", {"--hash", "sha384"});
    ASSERT_EQ(sha384.exit_code, 0) << sha384.err;
    EXPECT_EQ(openssl_verify("ecp384", "sha384").exit_code, 0);
    auto sha512 = sign("pkcs11:token=test-token;object=rsa3072", {"--hash", "sha512", "--pss"});
    ASSERT_EQ(sha512.exit_code, 0) << sha512.err;
    EXPECT_EQ(openssl_verify("rsa3072", "sha512",
                             {"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"})
                  .exit_code,
              0);
}

TEST_F(CliSign, StandardInputToStandardOutput) {
    auto r = run_keyfence(
        m_world, {"--pin-fd", "3", "sign", "--key", "pkcs11:token=test-token;object=ecp256"},
        {.stdin_data = read_file(data()), .fd3_data = "123456\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    write_file(sig(), r.out);
    EXPECT_EQ(openssl_verify("ecp256", "sha256").exit_code, 0);
}

TEST_F(CliSign, TheRsaKeyBesideAnEd25519KeySigns) {
    auto r = sign("pkcs11:token=mixed-token;object=mixed-rsa");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(openssl_verify("mixed-rsa", "sha256").exit_code, 0);
    fs::remove(sig());
    auto ed = sign("pkcs11:token=mixed-token;object=ed25519");
    EXPECT_EQ(ed.exit_code, 8);
    EXPECT_NE(ed.err.find("cannot be used"), std::string::npos) << ed.err;
    EXPECT_FALSE(fs::exists(sig()));
}

TEST_F(CliSign, NotFoundAndAmbiguousKeysExitFiveAndListCandidates) {
    auto none = sign("pkcs11:token=test-token;object=missing");
    EXPECT_EQ(none.exit_code, 5);
    EXPECT_NE(none.err.find("object=rsa2048"), std::string::npos) << none.err;
    auto many = sign("pkcs11:token=test-token");
    EXPECT_EQ(many.exit_code, 5);
    EXPECT_NE(many.err.find("matches 6 keys"), std::string::npos) << many.err;
    auto absent = sign("pkcs11:token=elsewhere");
    EXPECT_EQ(absent.exit_code, 5);
    EXPECT_FALSE(fs::exists(sig()));
}

TEST_F(CliSign, UsageErrorsExitTwo) {
    auto pin_in_uri = sign("pkcs11:token=test-token;object=rsa2048;pin-value=123456");
    EXPECT_EQ(pin_in_uri.exit_code, 2);
    EXPECT_NE(pin_in_uri.err.find("never takes a PIN from a URI"), std::string::npos);
    EXPECT_EQ(pin_in_uri.err.find("123456"), std::string::npos) << "the PIN was echoed";
    auto no_key = run_keyfence(m_world, {"sign"});
    EXPECT_EQ(no_key.exit_code, 2);
    auto bad_hash = sign("pkcs11:token=test-token;object=rsa2048", {"--hash", "md5"});
    EXPECT_EQ(bad_hash.exit_code, 2);
    auto pss_on_ec = sign("pkcs11:token=test-token;object=ecp256", {"--pss"});
    EXPECT_EQ(pss_on_ec.exit_code, 2);
    auto help = run_keyfence(m_world, {"--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("4  PIN locked"), std::string::npos);
}

TEST_F(CliSign, AFailedSignatureLeavesTheOldOutputUntouched) {
    write_file(sig(), "previous signature");
    auto r = sign("pkcs11:token=test-token;object=rsa2048", {}, "999999");
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(read_file(sig()), "previous signature");
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(m_world.dir())) ++entries;
    EXPECT_EQ(entries, 6u)
        << "certs, tokens, softhsm2.conf, data.txt, data.sig, state (the audit log); no temp file";
}

TEST_F(CliSign, MissingInputIsAnIoError) {
    auto r =
        run_keyfence(m_world,
                     {"--pin-fd", "3", "sign", "--key", "pkcs11:token=test-token;object=rsa2048",
                      "--in", (m_world.dir() / "nope").string()},
                     {.fd3_data = "123456\n"});
    EXPECT_EQ(r.exit_code, 8);
    EXPECT_NE(r.err.find("could not open"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace keyfence::test
