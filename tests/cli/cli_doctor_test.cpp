// keyfence doctor: findings with fixes, in a world the test builds (its own GNUPGHOME, policy
// and token store); never a PIN in the output.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
using nlohmann::json;

std::vector<json> findings(const ProcessResult& r, const std::string& check) {
    std::vector<json> out;
    const json all = json::parse(r.out);  // keep the parsed value alive for the loop
    for (const auto& f : all["findings"]) {
        if (f["check"] == check) out.push_back(f);
    }
    return out;
}

bool any_with(const std::vector<json>& fs, const std::string& severity, const std::string& text) {
    for (const auto& f : fs) {
        if (f["severity"] == severity &&
            f["summary"].get<std::string>().find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(CliDoctor, ReportsModulesPinStateAndGnupgSettingsWithFixes) {
    SoftHsmWorld world;
    const auto gnupg = world.dir() / "gnupg";
    std::filesystem::create_directories(gnupg);
    write_file(gnupg / "scdaemon.conf", "disable-ccid\n");
    const auto broken = world.dir() / "broken.so";
    write_file(broken, "not a module");
    auto wrong =
        run_keyfence(world,
                     {"--pin-fd", "3", "sign", "--key", "pkcs11:token=test-token;object=ecp256",
                      "--in", world.cert_pem("ecp256")},
                     {.fd3_data = "999999\n"});
    ASSERT_EQ(wrong.exit_code, 3);

    auto r = run_keyfence(world, {"--json", "--module", broken.string(), "doctor"},
                          {.env = {{"GNUPGHOME", gnupg.string()}}});
    EXPECT_EQ(r.exit_code, 1) << "a module that does not load is a problem";
    const json j = json::parse(r.out);
    EXPECT_EQ(j["problems"], true);
    for (const auto& f : j["findings"]) {
        if (f["severity"] == "problem" || f["severity"] == "warning") {
            EXPECT_FALSE(f["fix"].get<std::string>().empty()) << f.dump();
        }
    }
    EXPECT_TRUE(any_with(findings(r, "modules"), "problem", broken.string()));
    EXPECT_TRUE(any_with(findings(r, "modules"), "ok", "libsofthsm2.so loads"));
    EXPECT_TRUE(any_with(findings(r, "pin"), "info", "a wrong PIN was entered"));
    EXPECT_TRUE(any_with(findings(r, "pin"), "info", "software token"));
    EXPECT_TRUE(any_with(findings(r, "gnupg"), "warning", "lacks 'pcsc-shared'"));
    EXPECT_TRUE(any_with(findings(r, "policy"), "ok", "policy in effect"));
    EXPECT_EQ(r.out.find("999999"), std::string::npos);
    EXPECT_EQ(r.out.find("123456"), std::string::npos);
}

TEST(CliDoctor, ABrokenPolicyIsAProblemWithItsLine) {
    SoftHsmWorld world;
    const auto config = world.dir() / "config" / "keyfence";
    std::filesystem::create_directories(config);
    write_file(config / "config.toml", "[tokens]\nrequire_hardware = \"yes please\"\n");
    auto r = run_keyfence(world, {"doctor"},
                          {.env = {{"XDG_CONFIG_HOME", (world.dir() / "config").string()}}});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("[PROBLEM] policy: the policy does not load"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("config.toml:2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("fix: fix the file"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::test

namespace keyfence::test {
namespace {
// A token holding a public key with the ROCA fingerprint (written with pkcs11-tool, with the
// structure the unit test builds): flagged by keys and doctor, refused before any PIN.
TEST(CliRoca, FlaggedAndRefusedBeforeAnyPin) {
    SoftHsmWorld world;
    const auto spki = world.dir() / "roca.der";
    // N = 65537 mod M + t*M, built by OpenSSL's command line: see tests/unit/roca_test.cpp.
    auto gen = run({"python3", "-c",
                    "import sys\n"
                    "ps=[3,5,7,11,13,17,19,23,29,31,37,41,43,47,53,59,61,67,71,73,79,83,89,97,101,"
                    "103,107,109,113,127,131,137,139,149,151,157,163,167]\n"
                    "M=1\n"
                    "for p in ps: M*=p\n"
                    "n=pow(65537,4242,M)+((1<<2047)//M+12345)*M\n"
                    "print(hex(n)[2:])"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    std::string modulus = gen.out.substr(0, gen.out.find('\n'));
    write_file(world.dir() / "asn1.cnf",
               "asn1=SEQUENCE:pubkeyinfo\n[pubkeyinfo]\nalgorithm=SEQUENCE:rsa_alg\n"
               "pubkey=BITWRAP,SEQUENCE:rsapubkey\n[rsa_alg]\nalgorithm=OID:rsaEncryption\n"
               "parameter=NULL\n[rsapubkey]\nn=INTEGER:0x" +
                   modulus + "\ne=INTEGER:0x010001\n");
    auto der = run({"openssl", "asn1parse", "-genconf", (world.dir() / "asn1.cnf").string(),
                    "-noout", "-out", spki.string()});
    ASSERT_EQ(der.exit_code, 0) << der.err;
    auto write = run({"pkcs11-tool", "--module", k_softhsm_module, "--token-label", "test-token",
                      "--login", "--pin", "123456", "--write-object", spki.string(), "--type",
                      "pubkey", "--id", "09", "--label", "roca"},
                     {.env = world.env()});
    ASSERT_EQ(write.exit_code, 0) << write.err;

    auto keys = run_keyfence(world, {"keys", "--token", "pkcs11:token=test-token"});
    EXPECT_NE(keys.out.find("ROCA-vulnerable"), std::string::npos) << keys.out;
    auto doctor = run_keyfence(world, {"doctor"});
    EXPECT_NE(doctor.out.find("[PROBLEM] keys: the RSA key"), std::string::npos) << doctor.out;
    auto sign = run_keyfence(world,
                             {"--pin-fd", "3", "sign", "--key",
                              "pkcs11:token=test-token;object=roca", "--in", world.ca_pem()},
                             {.fd3_data = "000000\n"});
    EXPECT_EQ(sign.exit_code, 6) << sign.err;
    EXPECT_NE(sign.err.find("roca_key"), std::string::npos) << sign.err;
    // Refused before the PIN: the wrong PIN on fd 3 was never tried.
    auto tokens = run_keyfence(world, {"--json", "tokens"});
    EXPECT_EQ(tokens.out.find("\"count_low\": true"), std::string::npos);
}
}  // namespace
}  // namespace keyfence::test

namespace keyfence::test {
namespace {
// S/MIME operations reach the same audit log as raw signatures, with the protocol and the
// message's Message-ID, and never the message body.
TEST(CliAudit, SmimeSignatureIsAuditedWithItsMessageId) {
    SoftHsmWorld world;
    const auto msg = world.dir() / "msg.eml";
    write_file(msg,
               "From: rsa2048@example.org\r\nTo: bob@example.org\r\nSubject: audit me\r\n"
               "Message-ID: <audit-1@example.org>\r\n\r\nThe secret body text.\r\n");
    auto r = run_keyfence(
        world,
        {"--pin-fd", "3", "smime", "sign", "--key", "pkcs11:token=test-token;object=rsa2048",
         "--in", msg.string(), "--out", (world.dir() / "signed.eml").string()},
        {.fd3_data = "123456\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string log = read_file(world.dir() / "state" / "keyfence" / "audit.log");
    EXPECT_NE(log.find("\"protocol\":\"s/mime\""), std::string::npos) << log;
    EXPECT_NE(log.find("<audit-1@example.org>"), std::string::npos) << log;
    EXPECT_NE(log.find("\"result\":\"success\""), std::string::npos) << log;
    EXPECT_EQ(log.find("secret body"), std::string::npos);
    EXPECT_EQ(log.find("123456"), std::string::npos);
    auto verify = run_keyfence(world, {"audit", "verify"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}
}  // namespace
}  // namespace keyfence::test
