// Policy files: every problem is an error with file:line:column, nothing is ignored; the
// administrator's locks beat the user's file; every value knows where it came from.

#include <gtest/gtest.h>

#include "engine/policy/effective_policy.hpp"
#include "engine/policy/policy_file.hpp"
#include "engine/policy/schema.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::engine::policy {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> errors_of(std::string_view text, FileRole role = FileRole::Admin) {
    std::vector<std::string> out;
    for (const auto& d : parse_policy_text(text, "p.toml", role).errors) out.push_back(d.format());
    return out;
}

// The single error of `text`, which must start with "p.toml:POSITION:" (POSITION being LINE or
// LINE:COLUMN).
void expect_one_error(std::string_view text, const std::string& position,
                      const std::string& words) {
    const auto errors = errors_of(text);
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_EQ(errors[0].rfind("p.toml:" + position + ":", 0), 0u) << errors[0];
    EXPECT_EQ(errors[0].find('\n'), std::string::npos) << "one line per error";
    EXPECT_NE(errors[0].find(words), std::string::npos) << errors[0];
}

TEST(PolicyFile, AGoodFileHasNoErrors) {
    const auto parsed = parse_policy_text(R"(
locked = ["tokens.require_hardware", "algorithms", "*"]
[tokens]
require_hardware = true
allow_demo = false
software_modules = ["libsofthsm2.so"]
denied_serials = ["0000*"]
[algorithms]
min_rsa_bits = 3072
allowed_curves = ["P-256", "P-384"]
allowed_hashes = ["sha256"]
rsa_signing_padding = ["pss"]
smime_content_ciphers = ["aes-256-gcm"]
openpgp_integrity = "aead"
[pin]
mode = "session"
session_ttl = 600
session_max_operations = 5
confirm_each_operation = true
[mail]
sign = "always"
encrypt = "always"
[audit]
path = "/var/log/keyfence/audit.log"
required = true
)",
                                          "p.toml", FileRole::Admin);
    EXPECT_TRUE(parsed.errors.empty()) << parsed.errors[0].format();
    EXPECT_EQ(parsed.file.values.size(), 18u);
    EXPECT_EQ(parsed.file.locks.size(), 3u);
    EXPECT_EQ(parsed.file.values.at("algorithms.min_rsa_bits").second.line, 9);
}

TEST(PolicyFile, SyntaxErrorsHaveTheirLine) {
    expect_one_error("[tokens]\nrequire_hardware = tru\n", "2", "TOML syntax");
    expect_one_error("[tokens]\nrequire_hardware = true\nrequire_hardware = false\n", "3",
                     "TOML syntax");
}

TEST(PolicyFile, UnknownTablesAndKeysAreErrors) {
    expect_one_error("[signing]\nmin_rsa_bits = 3072\n", "1:2", "unknown table 'signing'");
    expect_one_error("[tokens]\n\nrequire_hardwar = true\n", "3:1",
                     "unknown setting 'tokens.require_hardwar'");
    expect_one_error("require_hardware = true\n", "1:1", "unknown table 'require_hardware'");
}

TEST(PolicyFile, WrongTypesAreErrors) {
    expect_one_error("[algorithms]\nmin_rsa_bits = \"3072\"\n", "2:16",
                     "must be an integer, not a string");
    expect_one_error("[tokens]\nrequire_hardware = 1\n", "2:20", "must be a boolean");
    expect_one_error("[tokens]\nallowed_models = \"YubiKey*\"\n", "2:18",
                     "must be an array of strings");
    expect_one_error("[tokens]\nallowed_models = [\"a\",\n  7]\n", "3:3", "only strings");
    expect_one_error("tokens = 3\n", "1:10", "must be a table");
    expect_one_error("[algorithms]\nmin_rsa_bits = 3072.0\n", "2:16", "floating-point");
}

TEST(PolicyFile, BadValuesAreErrors) {
    expect_one_error("[algorithms]\nmin_rsa_bits = 512\n", "2:16", "between 1024 and 16384");
    expect_one_error("[algorithms]\nallowed_curves = [\"P-256\", \"P-255\"]\n", "2:28",
                     "\"P-255\" is not one of");
    expect_one_error("[algorithms]\nallowed_hashes = [\"sha1\"]\n", "2:19", "\"sha1\"");
    expect_one_error("[algorithms]\nrsa_signing_padding = [\"oaep\"]\n", "2:24", "\"oaep\"");
    expect_one_error("[algorithms]\nsmime_content_ciphers = [\"rc2-40\"]\n", "2:26", "rc2-40");
    expect_one_error("[algorithms]\nopenpgp_integrity = \"none\"\n", "2:21", "\"none\"");
    expect_one_error("[pin]\nmode = \"forever\"\n", "2:8", "\"forever\"");
    expect_one_error("[pin]\nsession_ttl = 0\n", "2:15", "between 1 and 86400");
    expect_one_error("[pin]\nsession_max_operations = -1\n", "2:26", "between");
    expect_one_error("[mail]\nsign = \"sometimes\"\n", "2:8", "\"sometimes\"");
    expect_one_error("[mail]\nencrypt = \"maybe\"\n", "2:11", "\"maybe\"");
    expect_one_error("[audit]\npath = \"relative/audit.log\"\n", "2:8", "absolute path");
    expect_one_error("[tokens]\ndenied_models = [\"\"]\n", "2:18", "must not be empty");
}

TEST(PolicyFile, LocksAreCheckedAndOnlyTheAdministratorsFileMayLock) {
    expect_one_error("locked = [\"tokens.nope\"]\n", "1:11", "neither a setting");
    expect_one_error("locked = \"tokens\"\n", "1:10", "array of strings");
    const auto user = errors_of("locked = [\"tokens\"]\n", FileRole::User);
    ASSERT_EQ(user.size(), 1u);
    EXPECT_NE(user[0].find("only allowed in the administrator's policy"), std::string::npos);
}

TEST(PolicyFile, EveryProblemIsReportedInFileOrder) {
    const auto errors = errors_of("[pin]\nmode = 1\n[tokens]\nx = 1\n[mail]\nsign = \"no\"\n");
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors[0].rfind("p.toml:2:", 0), 0u);
    EXPECT_EQ(errors[1].rfind("p.toml:4:", 0), 0u);
    EXPECT_EQ(errors[2].rfind("p.toml:6:", 0), 0u);
}

TEST(PolicyFile, MissingFilesAreAbsentUnreadableOnesAreErrors) {
    test::TempDir dir;
    auto missing = load_policy_file((dir.path() / "none.toml").string(), FileRole::Admin);
    ASSERT_TRUE(missing);
    EXPECT_FALSE(missing->present);
    // A directory where the file should be: it exists and cannot be read, so refuse.
    auto unreadable = load_policy_file(dir.path().string(), FileRole::Admin);
    ASSERT_FALSE(unreadable);
    EXPECT_EQ(unreadable.error().code, base::ErrorCode::Io);
    test::write_file(dir.path() / "bad.toml", "[tokens]\nrequire_hardware = \"yes\"\n");
    auto bad = load_policy_file((dir.path() / "bad.toml").string(), FileRole::Admin);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, base::ErrorCode::BadInput);
    EXPECT_NE(bad.error().context.find("bad.toml:2:20:"), std::string::npos);
}

TEST(PolicyFile, TheDocumentedExampleIsValidAndSetsEveryKey) {
    const std::string doc = test::read_file(fs::path(KEYFENCE_SOURCE_DIR) / "docs" / "policy.md");
    const auto begin = doc.find("```toml\n");
    ASSERT_NE(begin, std::string::npos);
    const auto end = doc.find("```", begin + 8);
    const auto parsed = parse_policy_text(doc.substr(begin + 8, end - begin - 8), "docs/policy.md",
                                          FileRole::Admin);
    ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].format();
    EXPECT_EQ(parsed.file.values.size(), schema().size()) << "the example omits a key";
}

TEST(PolicyDefaults, TheSchemaDefaultsAreTheStructsDefaults) {
    const EffectivePolicy p = EffectivePolicy::defaults();
    EXPECT_FALSE(p.values().tokens.require_hardware);
    EXPECT_TRUE(p.values().tokens.allow_demo);
    EXPECT_EQ(p.values().algorithms.min_rsa_bits, 2048);
    EXPECT_EQ(p.values().pin.mode, PinMode::PerOperation);
    EXPECT_FALSE(p.values().audit.required);
    EXPECT_EQ(p.settings().size(), schema().size());
    for (const Setting& s : p.settings()) {
        EXPECT_EQ(s.source.kind, Source::Kind::Default) << s.name;
        EXPECT_FALSE(s.locked_by) << s.name;
        // Every default passes its own validation.
        const auto dot = s.name.find('.');
        const KeySpec* spec = find_spec(s.name.substr(0, dot), s.name.substr(dot + 1));
        ASSERT_NE(spec, nullptr);
        EXPECT_EQ(check_value(*spec, s.value).message, "") << s.name;
    }
}

class PolicyMerge : public ::testing::Test {
  protected:
    EffectivePolicy merge(std::string_view admin, std::string_view user) {
        m_admin = parse_policy_text(admin, "/etc/keyfence/policy.toml", FileRole::Admin);
        m_user = parse_policy_text(user, "/home/u/.config/keyfence/config.toml", FileRole::User);
        EXPECT_TRUE(m_admin.errors.empty() && m_user.errors.empty());
        return EffectivePolicy::merge(&m_admin.file, &m_user.file);
    }
    ParseOutcome m_admin, m_user;
};

TEST_F(PolicyMerge, TheUsersFileRefinesWhatIsNotLocked) {
    const auto p =
        merge("[algorithms]\nmin_rsa_bits = 3072\n",
              "[algorithms]\nmin_rsa_bits = 4096\n[pin]\nconfirm_each_operation = true\n");
    EXPECT_EQ(p.values().algorithms.min_rsa_bits, 4096);
    EXPECT_TRUE(p.values().pin.confirm_each_operation);
    const Setting& bits = p.setting("algorithms.min_rsa_bits");
    EXPECT_EQ(bits.source.kind, Source::Kind::User);
    EXPECT_EQ(bits.source.describe(), "user /home/u/.config/keyfence/config.toml:2:16");
    EXPECT_TRUE(p.warnings().empty());
}

TEST_F(PolicyMerge, AnAdministratorsLockBeatsTheUsersFile) {
    const auto p = merge(
        "locked = [\"tokens.require_hardware\", \"algorithms\"]\n[tokens]\nrequire_hardware = "
        "true\n[algorithms]\nmin_rsa_bits = 3072\n",
        "[tokens]\nrequire_hardware = false\n[algorithms]\nmin_rsa_bits = 2048\n"
        "allowed_hashes = [\"sha256\"]\n[mail]\nencrypt = \"always\"\n");
    EXPECT_TRUE(p.values().tokens.require_hardware);
    EXPECT_EQ(p.values().algorithms.min_rsa_bits, 3072);
    // A locked table locks the settings the administrator did not write too.
    EXPECT_EQ(p.values().algorithms.allowed_hashes.size(), 3u);
    EXPECT_EQ(p.values().mail.encrypt, MailEncrypt::Always);  // not locked: the user's value

    const Setting& hw = p.setting("tokens.require_hardware");
    EXPECT_EQ(hw.source.describe(), "admin /etc/keyfence/policy.toml:3:20");
    ASSERT_TRUE(hw.locked_by);
    EXPECT_EQ(hw.locked_by->line, 1);
    ASSERT_TRUE(hw.overruled_user_value);
    EXPECT_EQ(hw.overruled_user_value->line, 2);
    EXPECT_EQ(p.setting("algorithms.allowed_hashes").source.kind, Source::Kind::Default);
    ASSERT_EQ(p.warnings().size(), 3u);
    EXPECT_NE(p.warnings()[0].find("locked by the administrator"), std::string::npos);
}

TEST_F(PolicyMerge, StarLocksEverything) {
    const auto p = merge("locked = [\"*\"]\n", "[pin]\nmode = \"session\"\n");
    EXPECT_EQ(p.values().pin.mode, PinMode::PerOperation);
    for (const Setting& s : p.settings()) EXPECT_TRUE(s.locked_by) << s.name;
}

TEST(PolicyLoad, LoadsBothFilesAndRecordsWhichArePresent) {
    test::TempDir dir;
    const auto admin = dir.path() / "policy.toml";
    test::write_file(admin, "[pin]\nmode = \"session\"\n");
    auto p = EffectivePolicy::load({admin.string(), (dir.path() / "none.toml").string()});
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_TRUE(p->admin_present());
    EXPECT_FALSE(p->user_present());
    EXPECT_EQ(p->values().pin.mode, PinMode::Session);
    test::write_file(dir.path() / "user.toml", "[pin]\nmode = 3\n");
    auto bad = EffectivePolicy::load({admin.string(), (dir.path() / "user.toml").string()});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().context.find("user.toml:2:8:"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::engine::policy
