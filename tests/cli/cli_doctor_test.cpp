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
