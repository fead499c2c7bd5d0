// The engine enforces the policy on SoftHSM keys before any PIN is asked, and records every
// outcome — success, refusal, wrong PIN — in the audit log before it returns.

#include <gtest/gtest.h>

#include <sstream>

#include "engine/engine.hpp"
#include "engine/policy/policy_file.hpp"
#include "tests/support/fixed_pin_source.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::engine {
namespace {
namespace fs = std::filesystem;
using base::ErrorCode;

class EngineAudit : public ::testing::Test {
  protected:
    // An engine under the administrator's policy `admin`, writing its log into the world.
    std::unique_ptr<Engine> engine(const std::string& admin, std::string pin = test::k_user_pin) {
        const std::string text = "[audit]\npath = \"" + log().string() + "\"\n" + admin;
        auto parsed =
            policy::parse_policy_text(text, "/etc/keyfence/policy.toml", policy::FileRole::Admin);
        EXPECT_TRUE(parsed.errors.empty()) << parsed.errors[0].format();
        auto pins = std::make_unique<test::FixedPinSource>(std::move(pin));
        m_pins = pins.get();
        EngineOptions options{.modules = {test::k_softhsm_module},
                              .use_registered_modules = false,
                              .demo_mode = false,
                              .lockout = {},
                              .policy = policy::EffectivePolicy::merge(&parsed.file, nullptr)};
        return std::make_unique<Engine>(std::move(options), std::move(pins));
    }

    base::Result<std::vector<std::uint8_t>> sign(Engine& e, const std::string& object,
                                                 token::pkcs11::SignPadding padding = {}) {
        auto match = e.find_key("pkcs11:token=test-token;object=" + object);
        EXPECT_TRUE(match) << match.error().message();
        OperationRequest request;
        request.key_uri = "pkcs11:token=test-token;object=" + object;
        request.hash = "sha256";
        request.padding = padding;
        request.content_sha256 = std::string(64, 'c');
        request.content_digest = std::string(64, 'c');
        request.message_id = "<m1@example.org>";
        const std::vector<std::uint8_t> digest(32, 0xcc);
        return e.sign_digest(std::move(*match), request, digest);
    }

    fs::path log() const { return m_world.dir() / "audit" / "audit.log"; }
    std::vector<nlohmann::json> records() const {
        std::vector<nlohmann::json> out;
        std::istringstream in(test::read_file(log()));
        for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
        return out;
    }

    test::SoftHsmWorld m_world;
    test::FixedPinSource* m_pins = nullptr;
};

TEST_F(EngineAudit, ASignatureIsRecordedWithWhatWasSigned) {
    auto e = engine("");
    auto signature = sign(*e, "ecp256");
    ASSERT_TRUE(signature) << signature.error().message();
    const auto r = records();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["outcome"]["result"], "success");
    EXPECT_EQ(r[0]["operation"], "sign");
    EXPECT_EQ(r[0]["protocol"], "raw");
    EXPECT_EQ(r[0]["content"]["sha256"], std::string(64, 'c'));
    EXPECT_EQ(r[0]["message_id"], "<m1@example.org>");
    EXPECT_EQ(r[0]["token"]["model"], "SoftHSM v2");
    EXPECT_FALSE(r[0]["token"]["serial"].get<std::string>().empty());
    EXPECT_EQ(r[0]["key"]["public_key_sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(r[0]["process"]["pid"], static_cast<long>(::getpid()));
    EXPECT_NE(r[0]["process"]["executable"].get<std::string>().find("softhsm_tests"),
              std::string::npos);
}

TEST_F(EngineAudit, ARefusalComesBeforeAnyPinAndIsRecorded) {
    auto e = engine("[algorithms]\nmin_rsa_bits = 3072\n");
    auto refused = sign(*e, "rsa2048");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::PolicyDenied);
    EXPECT_NE(refused.error().context.find("refused by rule 'algorithms.min_rsa_bits'"),
              std::string::npos);
    EXPECT_TRUE(m_pins->requests.empty()) << "a PIN was asked for before the refusal";
    auto allowed = sign(*e, "rsa3072");
    EXPECT_TRUE(allowed) << allowed.error().message();
    const auto r = records();
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0]["outcome"]["result"], "refused");
    EXPECT_EQ(r[0]["outcome"]["rule"], "algorithms.min_rsa_bits");
    EXPECT_EQ(r[1]["outcome"]["result"], "success");
}

TEST_F(EngineAudit, PaddingAndHardwareRulesRefuseOnSoftHsm) {
    auto pss_only = engine("[algorithms]\nrsa_signing_padding = [\"pss\"]\n");
    auto pkcs1 = sign(*pss_only, "rsa2048", token::pkcs11::SignPadding::Pkcs1v15);
    ASSERT_FALSE(pkcs1);
    EXPECT_NE(pkcs1.error().context.find("'algorithms.rsa_signing_padding'"), std::string::npos);
    EXPECT_TRUE(sign(*pss_only, "rsa2048", token::pkcs11::SignPadding::Pss));

    auto hardware = engine("[tokens]\nrequire_hardware = true\n");
    auto soft = sign(*hardware, "ecp256");
    ASSERT_FALSE(soft);
    EXPECT_NE(soft.error().context.find("'tokens.require_hardware'"), std::string::npos);
    EXPECT_TRUE(m_pins->requests.empty());
}

TEST_F(EngineAudit, AWrongPinIsRecorded) {
    auto e = engine("", "000000");
    auto wrong = sign(*e, "ecp256");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, ErrorCode::PinIncorrect);
    const auto r = records();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["outcome"]["result"], "wrong_pin");
    EXPECT_EQ(r[0]["outcome"]["error"], "pin_incorrect");
}

TEST_F(EngineAudit, ARequiredLogThatCannotBeWrittenFailsBeforeAnyPin) {
    // A regular file where the log's directory should be.
    test::write_file(m_world.dir() / "audit", "not a directory");
    auto required = engine("required = true\n");  // still in [audit]
    auto failed = sign(*required, "ecp256");
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::Io);
    EXPECT_NE(failed.error().context.find("audit log is required"), std::string::npos);
    EXPECT_TRUE(m_pins->requests.empty());
    // Not required: the operation goes ahead, with a warning.
    auto optional = engine("");
    EXPECT_TRUE(sign(*optional, "ecp256"));
}

}  // namespace
}  // namespace keyfence::engine
