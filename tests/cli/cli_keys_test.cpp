// keyfence tokens and keys: text and --json.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
using nlohmann::json;

TEST(CliTokens, JsonFollowsTheDocumentedSchema) {
    SoftHsmWorld world;
    auto r = run_keyfence(world, {"--json", "tokens"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j["schema"], "keyfence/1");
    ASSERT_EQ(j["modules"].size(), 1u);
    EXPECT_EQ(j["modules"][0]["manufacturer"], "SoftHSM");
    bool found = false;
    for (const auto& t : j["tokens"]) {
        if (t.value("label", "") != "test-token") continue;
        found = true;
        EXPECT_EQ(t["manufacturer"], "SoftHSM project");
        EXPECT_EQ(t["software"], true);
        EXPECT_EQ(t["pin"]["login_required"], true);
        EXPECT_EQ(t["pin"]["locked"], false);
        EXPECT_EQ(t["pin"]["final_try"], false);
        EXPECT_EQ(t["present"], true);
        EXPECT_TRUE(t["uri"].get<std::string>().starts_with("pkcs11:"));
    }
    EXPECT_TRUE(found) << r.out;
}

TEST(CliTokens, TextMarksSoftwareTokens) {
    SoftHsmWorld world;
    auto r = run_keyfence(world, {"tokens"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Token \"test-token\"  [SOFTWARE TOKEN"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Uninitialized token"), std::string::npos);
}

TEST(CliTokens, RegisteredModulesAreFoundWithoutFlags) {
    SoftHsmWorld world;
    auto r = run_keyfence(world, {"--json", "tokens"}, {}, /*hermetic=*/false);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    bool found = false;
    for (const auto& t : j["tokens"]) found = found || t.value("label", "") == "test-token";
    EXPECT_TRUE(found) << "SoftHSM is registered with p11-kit; no --module needed";
}

TEST(CliTokens, ABrokenModuleIsReportedAndSkipped) {
    SoftHsmWorld world;
    const auto broken = world.dir() / "broken.so";
    write_file(broken, "not an ELF file");
    auto text = run_keyfence(world, {"--module", broken.string(), "tokens"});
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.err.find("skipped " + broken.string()), std::string::npos) << text.err;
    EXPECT_NE(text.out.find("test-token"), std::string::npos);
    auto js = run_keyfence(world, {"--json", "--module", broken.string(), "tokens"});
    const json j = json::parse(js.out);
    ASSERT_EQ(j["module_failures"].size(), 1u);
    EXPECT_EQ(j["module_failures"][0]["module"], broken.string());
    EXPECT_EQ(j["module_failures"][0]["error"]["code"], "module_failure");
}

TEST(CliKeys, JsonListsEveryKeyWithItsCertificate) {
    SoftHsmWorld world;
    auto r = run_keyfence(world, {"--json", "keys"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    std::map<std::string, json> by_label;
    for (const auto& k : j["keys"]) by_label[k["label"]] = k;
    ASSERT_EQ(by_label.size(), 8u) << r.out;
    EXPECT_EQ(by_label["rsa3072"]["bits"], 3072);
    EXPECT_EQ(by_label["ecp384"]["curve"], "P-384");
    EXPECT_EQ(by_label["ecp256"]["certificate"]["emails"][0], "ecp256@example.org");
    EXPECT_EQ(by_label["ed25519"]["supported"], false);
    EXPECT_EQ(by_label["mixed-rsa"]["supported"], true);
    EXPECT_EQ(by_label["rsa2048"]["kind"], "private-key");
    EXPECT_EQ(by_label["rsa2048"]["token"]["label"], "test-token");
    EXPECT_TRUE(by_label["rsa2048"]["usages"].is_null()) << "SoftHSM hides usages until login";
}

TEST(CliVersion, NamesKeyfenceAndItsLibraries) {
    SoftHsmWorld world;
    auto r = run_keyfence(world, {"--version"});
    EXPECT_EQ(r.exit_code, 0);
    for (const char* part : {"keyfence 0.", "OpenSSL 3.", "libp11    0.4", "p11-kit", "pcsc-lite",
                             "GPGME     1.", "GMime     3."}) {
        EXPECT_NE(r.out.find(part), std::string::npos) << part << " in " << r.out;
    }
}

TEST(CliKeys, TokenFilterAndPubkeyExport) {
    SoftHsmWorld world;
    auto r = run_keyfence(world, {"keys", "--token", "pkcs11:token=mixed-token"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("mixed-rsa"), std::string::npos);
    EXPECT_EQ(r.out.find("ecp256"), std::string::npos);
    EXPECT_NE(r.out.find("UNSUPPORTED"), std::string::npos);

    auto pub = run_keyfence(world, {"pubkey", "--key", "pkcs11:token=test-token;object=ecp384"});
    ASSERT_EQ(pub.exit_code, 0) << pub.err;
    EXPECT_EQ(pub.out, read_file(world.pubkey_pem("ecp384")));
}

}  // namespace
}  // namespace keyfence::test
