// The policy matrix: each rule refuses what it should and allows the rest, checked on keys and
// tokens described in memory (tests/softhsm/engine_policy_test.cpp checks the engine on
// SoftHSM: refusal before any PIN, and the audit record).

#include <gtest/gtest.h>

#include "engine/policy/policy_file.hpp"
#include "engine/policy/rules.hpp"

namespace keyfence::engine::policy {
namespace {
namespace p11 = token::pkcs11;

EffectivePolicy policy_of(std::string_view admin) {
    ParseOutcome parsed = parse_policy_text(admin, "/etc/keyfence/policy.toml", FileRole::Admin);
    EXPECT_TRUE(parsed.errors.empty()) << parsed.errors[0].format();
    return EffectivePolicy::merge(&parsed.file, nullptr);
}

p11::KeyMatch hardware_rsa(int bits = 2048) {
    p11::KeyMatch m;
    m.token.module_path = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
    m.token.label = "PIV Card";
    m.token.model = "PKCS#15 emulated";
    m.token.manufacturer = "piv_II";
    m.token.serial = "00001234abcd";
    m.key.label = "Digital Signature";
    m.key.algorithm = p11::KeyAlgorithm::Rsa;
    m.key.bits = bits;
    m.key.supported = true;
    return m;
}

p11::KeyMatch hardware_ec(const std::string& curve) {
    p11::KeyMatch m = hardware_rsa();
    m.key.algorithm = p11::KeyAlgorithm::Ec;
    m.key.bits = 256;
    m.key.curve = curve;
    return m;
}

RuleRequest sign(std::string hash = "sha256",
                 p11::SignPadding padding = p11::SignPadding::Pkcs1v15) {
    return RuleRequest{
        .sign = true, .hash = std::move(hash), .padding = padding, .demo_mode = false};
}

// The rule that refuses, or "" when allowed.
std::string verdict(std::string_view admin, const p11::KeyMatch& match,
                    const RuleRequest& request = sign()) {
    const auto refusal = check_rules(policy_of(admin), match, request);
    if (!refusal) return "";
    EXPECT_EQ(refusal->error.code, base::ErrorCode::PolicyDenied);
    EXPECT_NE(refusal->error.context.find("refused by rule '" + refusal->rule + "': "),
              std::string::npos)
        << refusal->error.context;
    EXPECT_FALSE(refusal->error.hint.empty());
    return refusal->rule;
}

TEST(PolicyRules, TheDefaultPolicyAllowsHardwareAndSoftwareTokens) {
    EXPECT_EQ(verdict("", hardware_rsa()), "");
    auto soft = hardware_rsa();
    soft.token.software = true;
    EXPECT_EQ(verdict("", soft), "");
}

TEST(PolicyRules, DemoTokenNeedsDemoModeAndAllowDemo) {
    auto demo = hardware_ec("P-256");
    demo.token.demo = demo.token.software = true;
    demo.token.label = "keyfence-demo";
    EXPECT_EQ(verdict("", demo), "demo_token");
    RuleRequest in_demo = sign();
    in_demo.demo_mode = true;
    EXPECT_EQ(verdict("", demo, in_demo), "");
    EXPECT_EQ(verdict("[tokens]\nallow_demo = false\n", demo, in_demo), "tokens.allow_demo");
    EXPECT_EQ(verdict("[tokens]\nrequire_hardware = true\n", demo, in_demo),
              "tokens.require_hardware");
}

TEST(PolicyRules, RequireHardwareRefusesKnownAndListedSoftware) {
    const std::string rule = "[tokens]\nrequire_hardware = true\n";
    EXPECT_EQ(verdict(rule, hardware_rsa()), "");
    auto soft = hardware_rsa();
    soft.token.software = true;
    soft.token.software_reason = "SoftHSM keeps its keys in files";
    EXPECT_EQ(verdict(rule, soft), "tokens.require_hardware");
    EXPECT_EQ(verdict(rule + "software_modules = [\"opensc-*.so\"]\n", hardware_rsa()),
              "tokens.require_hardware");
    EXPECT_EQ(verdict(rule + "software_models = [\"PKCS#15*\"]\n", hardware_rsa()),
              "tokens.require_hardware");
    // Listed as software, but software is allowed: nothing refuses.
    EXPECT_EQ(verdict("[tokens]\nsoftware_models = [\"PKCS#15*\"]\n", hardware_rsa()), "");
}

TEST(PolicyRules, AllowedAndDeniedModules) {
    EXPECT_EQ(verdict("[tokens]\ndenied_modules = [\"opensc-pkcs11.so\"]\n", hardware_rsa()),
              "tokens.denied_modules");
    EXPECT_EQ(verdict("[tokens]\ndenied_modules = [\"/usr/lib/*/opensc*\"]\n", hardware_rsa()),
              "tokens.denied_modules");
    EXPECT_EQ(verdict("[tokens]\ndenied_modules = [\"libykcs11.so\"]\n", hardware_rsa()), "");
    EXPECT_EQ(verdict("[tokens]\nallowed_modules = [\"libykcs11.so*\"]\n", hardware_rsa()),
              "tokens.allowed_modules");
    EXPECT_EQ(verdict("[tokens]\nallowed_modules = [\"libykcs11.so*\", \"opensc-pkcs11.so\"]\n",
                      hardware_rsa()),
              "");
    // Denied wins over allowed.
    EXPECT_EQ(verdict("[tokens]\nallowed_modules = [\"*\"]\ndenied_modules = [\"opensc*\"]\n",
                      hardware_rsa()),
              "tokens.denied_modules");
}

TEST(PolicyRules, AllowedAndDeniedModelsAndSerials) {
    const auto key = hardware_rsa();
    EXPECT_EQ(verdict("[tokens]\ndenied_models = [\"PKCS#15*\"]\n", key), "tokens.denied_models");
    EXPECT_EQ(verdict("[tokens]\nallowed_models = [\"YubiKey*\"]\n", key), "tokens.allowed_models");
    EXPECT_EQ(verdict("[tokens]\nallowed_models = [\"YubiKey*\", \"PKCS#15 emulated\"]\n", key),
              "");
    EXPECT_EQ(verdict("[tokens]\ndenied_serials = [\"00001234*\"]\n", key),
              "tokens.denied_serials");
    EXPECT_EQ(verdict("[tokens]\nallowed_serials = [\"9999*\"]\n", key), "tokens.allowed_serials");
    EXPECT_EQ(verdict("[tokens]\nallowed_serials = [\"0000????abcd\"]\n", key), "");
    EXPECT_EQ(verdict("[tokens]\nallowed_models = []\n", key), "tokens.allowed_models");
}

TEST(PolicyRules, MinimumRsaSize) {
    const std::string rule = "[algorithms]\nmin_rsa_bits = 3072\n";
    EXPECT_EQ(verdict(rule, hardware_rsa(2048)), "algorithms.min_rsa_bits");
    EXPECT_EQ(verdict(rule, hardware_rsa(3072)), "");
    EXPECT_EQ(verdict(rule, hardware_ec("P-256")), "");                     // not an RSA key
    EXPECT_EQ(verdict("", hardware_rsa(1024)), "algorithms.min_rsa_bits");  // default 2048
}

TEST(PolicyRules, AllowedCurves) {
    const std::string rule = "[algorithms]\nallowed_curves = [\"P-384\"]\n";
    EXPECT_EQ(verdict(rule, hardware_ec("P-256")), "algorithms.allowed_curves");
    EXPECT_EQ(verdict(rule, hardware_ec("P-384")), "");
    EXPECT_EQ(verdict("", hardware_ec("secp256k1")), "algorithms.allowed_curves");
    EXPECT_EQ(verdict("[algorithms]\nallowed_curves = [\"secp256k1\"]\n", hardware_ec("secp256k1")),
              "");
}

TEST(PolicyRules, AllowedHashes) {
    const std::string rule = "[algorithms]\nallowed_hashes = [\"sha384\", \"sha512\"]\n";
    EXPECT_EQ(verdict(rule, hardware_ec("P-256"), sign("sha256")), "algorithms.allowed_hashes");
    EXPECT_EQ(verdict(rule, hardware_ec("P-256"), sign("sha384")), "");
    // Hashes only matter for signatures.
    EXPECT_EQ(verdict(rule, hardware_ec("P-256"), RuleRequest{}), "");
}

TEST(PolicyRules, SmimeContentCiphersJudgeNewMail) {
    EXPECT_FALSE(check_smime_cipher(policy_of(""), "aes-256-cbc"));  // the default allows CBC
    const auto gcm_only = policy_of("[algorithms]\nsmime_content_ciphers = [\"aes-256-gcm\"]\n");
    EXPECT_FALSE(check_smime_cipher(gcm_only, "aes-256-gcm"));
    const auto refusal = check_smime_cipher(gcm_only, "aes-256-cbc");
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->rule, "algorithms.smime_content_ciphers");
    EXPECT_EQ(refusal->error.code, base::ErrorCode::PolicyDenied);
    EXPECT_NE(refusal->error.context.find("aes-256-cbc"), std::string::npos);
}

TEST(PolicyRules, OpenPgpAeadCannotBeMetByGnuPg22) {
    EXPECT_FALSE(check_openpgp_integrity(policy_of("")));  // mdc, the default
    const auto refusal =
        check_openpgp_integrity(policy_of("[algorithms]\nopenpgp_integrity = \"aead\"\n"));
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->rule, "algorithms.openpgp_integrity");
    EXPECT_EQ(refusal->error.code, base::ErrorCode::PolicyDenied);
}

TEST(PolicyRules, RsaSigningPadding) {
    const std::string pss_only = "[algorithms]\nrsa_signing_padding = [\"pss\"]\n";
    EXPECT_EQ(verdict(pss_only, hardware_rsa(), sign("sha256", p11::SignPadding::Pkcs1v15)),
              "algorithms.rsa_signing_padding");
    EXPECT_EQ(verdict(pss_only, hardware_rsa(), sign("sha256", p11::SignPadding::Pss)), "");
    const std::string pkcs1_only = "[algorithms]\nrsa_signing_padding = [\"pkcs1\"]\n";
    EXPECT_EQ(verdict(pkcs1_only, hardware_rsa(), sign("sha256", p11::SignPadding::Pss)),
              "algorithms.rsa_signing_padding");
    // ECDSA has no padding: the rule does not apply.
    EXPECT_EQ(verdict(pss_only, hardware_ec("P-256")), "");
}

TEST(PolicyRules, TheHintSaysWhereTheRuleWasSet) {
    auto soft = hardware_rsa();
    soft.token.software = true;
    const auto refusal = check_rules(
        policy_of("locked = [\"tokens\"]\n[tokens]\nrequire_hardware = true\n"), soft, sign());
    ASSERT_TRUE(refusal);
    EXPECT_NE(refusal->error.hint.find("/etc/keyfence/policy.toml:3:20"), std::string::npos)
        << refusal->error.hint;
    EXPECT_NE(refusal->error.hint.find("locked"), std::string::npos);
}

TEST(PolicyRules, ModuleGlobsMatchTheFileNameOrTheWholePath) {
    const std::string path = "/usr/lib/softhsm/libsofthsm2.so";
    EXPECT_TRUE(module_matches_any({"libsofthsm2.so"}, path));
    EXPECT_TRUE(module_matches_any({"libsoft*"}, path));
    EXPECT_TRUE(module_matches_any({"/usr/lib/*"}, path));
    EXPECT_FALSE(module_matches_any({"/opt/*"}, path));
    EXPECT_FALSE(module_matches_any({"softhsm"}, path));
    EXPECT_FALSE(module_matches_any({}, path));
}

}  // namespace
}  // namespace keyfence::engine::policy
