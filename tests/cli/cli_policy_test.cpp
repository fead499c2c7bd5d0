// keyfence policy and audit, and keyfence sign under a policy, as a user runs them. The
// administrator's file is given to keyfence_for_tests through KEYFENCE_TEST_ADMIN_POLICY, which
// the keyfence program itself does not read (checked here too).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

constexpr const char* k_content = "Meet at the usual place at noon.\n";

class CliPolicy : public ::testing::Test {
  protected:
    void SetUp() override {
        write_file(data(), k_content);
        fs::create_directories(m_world.user_config().parent_path());
    }
    fs::path data() const { return m_world.dir() / "data.txt"; }
    fs::path sig() const { return m_world.dir() / "data.sig"; }
    fs::path admin() const { return m_world.dir() / "etc" / "policy.toml"; }
    void write_admin(const std::string& text) {
        fs::create_directories(admin().parent_path());
        write_file(admin(), text);
    }

    // keyfence_for_tests, with the world's administrator's policy (when written).
    ProcessResult keyfence(std::vector<std::string> args, ProcessOptions options = {}) {
        std::vector<std::string> argv = {KEYFENCE_TEST_BINARY, "--no-p11-kit", "--module",
                                         k_softhsm_module};
        argv.insert(argv.end(), args.begin(), args.end());
        for (const auto& [k, v] : m_world.env({{"KEYFENCE_TEST_ADMIN_POLICY", admin().string()}})) {
            options.env.emplace(k, v);
        }
        return run(argv, options);
    }
    ProcessResult sign(const std::string& object, std::vector<std::string> extra = {},
                       const std::string& pin = k_user_pin) {
        std::vector<std::string> args = {"--pin-fd",
                                         "3",
                                         "sign",
                                         "--key",
                                         "pkcs11:token=test-token;object=" + object,
                                         "--in",
                                         data().string(),
                                         "--out",
                                         sig().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return keyfence(args, {.fd3_data = pin + "\n"});
    }
    std::vector<std::string> log_lines() const {
        std::istringstream in(read_file(m_world.audit_log()));
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    }

    SoftHsmWorld m_world;
};

TEST_F(CliPolicy, AnAdministratorsLockBeatsTheUsersFile) {
    write_admin("locked = [\"algorithms.min_rsa_bits\"]\n[algorithms]\nmin_rsa_bits = 3072\n");
    write_file(m_world.user_config(), "[algorithms]\nmin_rsa_bits = 2048\n");
    auto refused = sign("rsa2048");
    EXPECT_EQ(refused.exit_code, 6) << refused.err;
    EXPECT_NE(refused.err.find("refused by rule 'algorithms.min_rsa_bits'"), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("what to do:"), std::string::npos);
    EXPECT_FALSE(fs::exists(sig()));
    auto allowed = sign("rsa3072");
    EXPECT_EQ(allowed.exit_code, 0) << allowed.err;

    auto show = keyfence({"policy", "show"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_NE(show.out.find("min_rsa_bits             = 3072"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("locked by admin " + admin().string() + ":1:"), std::string::npos);
    EXPECT_NE(show.out.find("your value 2048 is ignored"), std::string::npos);
}

TEST_F(CliPolicy, TheUsersFileRefinesWhatIsNotLocked) {
    write_file(m_world.user_config(), "[tokens]\nrequire_hardware = true\n");
    auto refused = sign("ecp256");
    EXPECT_EQ(refused.exit_code, 6);
    EXPECT_NE(refused.err.find("refused by rule 'tokens.require_hardware'"), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find(m_world.user_config().string() + ":2:20"), std::string::npos);
}

TEST_F(CliPolicy, HashAndPaddingRulesRefuseSign) {
    write_admin("[algorithms]\nallowed_hashes = [\"sha384\"]\nrsa_signing_padding = [\"pss\"]\n");
    auto hash = sign("ecp384");
    EXPECT_EQ(hash.exit_code, 6);
    EXPECT_NE(hash.err.find("'algorithms.allowed_hashes'"), std::string::npos) << hash.err;
    EXPECT_EQ(sign("ecp384", {"--hash", "sha384"}).exit_code, 0);
    auto padding = sign("rsa2048", {"--hash", "sha384"});
    EXPECT_EQ(padding.exit_code, 6);
    EXPECT_NE(padding.err.find("'algorithms.rsa_signing_padding'"), std::string::npos);
    EXPECT_EQ(sign("rsa2048", {"--hash", "sha384", "--pss"}).exit_code, 0);
}

TEST_F(CliPolicy, ShowJsonSaysWhereEachValueComesFrom) {
    write_admin("[pin]\nmode = \"session\"\nsession_ttl = 600\n");
    write_file(m_world.user_config(), "[mail]\nencrypt = \"always\"\n");
    auto show = keyfence({"policy", "show", "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    const auto j = nlohmann::json::parse(show.out);
    EXPECT_EQ(j["admin_policy"]["path"], admin().string());
    EXPECT_TRUE(j["admin_policy"]["present"]);
    const auto& s = j["settings"];
    EXPECT_EQ(s["pin.mode"]["value"], "session");
    EXPECT_EQ(s["pin.mode"]["source"]["kind"], "admin");
    EXPECT_EQ(s["pin.mode"]["source"]["line"], 2);
    EXPECT_EQ(s["pin.session_ttl"]["value"], 600);
    EXPECT_EQ(s["mail.encrypt"]["source"]["kind"], "user");
    EXPECT_EQ(s["mail.encrypt"]["source"]["file"], m_world.user_config().string());
    EXPECT_EQ(s["tokens.require_hardware"]["source"]["kind"], "default");
    EXPECT_EQ(s["tokens.require_hardware"]["value"], false);
}

TEST_F(CliPolicy, CheckGivesLineNumberedErrorsAndExit7) {
    const fs::path bad = m_world.dir() / "bad.toml";
    write_file(bad,
               "[tokens]\nrequire_hardware = \"yes\"\n\n[algorithms]\nmin_rsa_bits = 512\n"
               "colour = \"blue\"\n");
    auto r = keyfence({"policy", "check", bad.string()});
    EXPECT_EQ(r.exit_code, 7);
    EXPECT_NE(r.err.find(bad.string() + ":2:20: 'tokens.require_hardware' must be a boolean"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(bad.string() + ":5:16:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(bad.string() + ":6:1: unknown setting 'algorithms.colour'"),
              std::string::npos)
        << r.err;

    const fs::path good = m_world.dir() / "good.toml";
    write_file(good, "locked = [\"tokens\"]\n[tokens]\nrequire_hardware = true\n");
    auto ok = keyfence({"policy", "check", good.string()});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_NE(ok.out.find("valid"), std::string::npos);
    // A user's file may not lock.
    EXPECT_EQ(keyfence({"policy", "check", "--user", good.string()}).exit_code, 7);
}

TEST_F(CliPolicy, ABadPolicyFileStopsSigning) {
    write_admin("[tokens]\nrequire_hardwar = true\n");
    auto r = sign("ecp256");
    EXPECT_EQ(r.exit_code, 7);
    EXPECT_NE(r.err.find(admin().string() + ":2:1: unknown setting"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sig()));
}

TEST_F(CliPolicy, ProductionBinaryIgnoresTheTestVariable) {
    write_admin("[tokens]\nrequire_hardware = true\n");
    auto r = run({KEYFENCE_BINARY, "policy", "show", "--json"},
                 {.env = m_world.env({{"KEYFENCE_TEST_ADMIN_POLICY", admin().string()}})});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["admin_policy"]["path"],
              KEYFENCE_PRODUCTION_ADMIN_POLICY);
    // The variable's name is not even in the program.
    EXPECT_EQ(read_file(KEYFENCE_BINARY).find("KEYFENCE_TEST_ADMIN_POLICY"), std::string::npos);
}

TEST_F(CliPolicy, AuditRecordsSuccessRefusalAndWrongPinAndNothingSecret) {
    ASSERT_EQ(sign("ecp256").exit_code, 0);
    EXPECT_EQ(sign("ecp256", {}, "000000").exit_code, 3);
    write_file(m_world.user_config(), "[algorithms]\nallowed_curves = [\"P-384\"]\n");
    EXPECT_EQ(sign("ecp256").exit_code, 6);

    const auto lines = log_lines();
    ASSERT_EQ(lines.size(), 3u);
    std::vector<std::string> results;
    for (const auto& line : lines) {
        auto record = nlohmann::json::parse(line);
        results.push_back(record["outcome"]["result"]);
        EXPECT_EQ(record["process"]["executable"], KEYFENCE_TEST_BINARY);
        // Fields that are random hex or numbers could hold "123456" by chance; the rest may not.
        for (const char* random : {"hash", "prev", "time", "content"}) record.erase(random);
        record["process"].erase("pid");
        record["key"].erase("public_key_sha256");
        EXPECT_EQ(record.dump().find(k_user_pin), std::string::npos) << record.dump();
    }
    EXPECT_EQ(results, (std::vector<std::string>{"success", "wrong_pin", "refused"}));
    const std::string log = read_file(m_world.audit_log());
    EXPECT_EQ(log.find("Meet at the usual place"), std::string::npos);
    EXPECT_EQ(log.find("000000"), std::string::npos);
    EXPECT_NE(log.find("\"rule\":\"algorithms.allowed_curves\""), std::string::npos);

    auto verify = keyfence({"audit", "verify"});
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_NE(verify.out.find("3 records, chain intact"), std::string::npos) << verify.out;
}

TEST_F(CliPolicy, AuditVerifyNamesTheTamperedLine) {
    for (int i = 0; i < 3; ++i) ASSERT_EQ(sign("ecp256").exit_code, 0);
    auto lines = log_lines();
    ASSERT_EQ(lines.size(), 3u);
    const auto at = lines[1].find("\"success\"");
    lines[1].replace(at, 9, "\"refused\"");
    write_file(m_world.audit_log(), lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n");
    auto r = keyfence({"audit", "verify"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(m_world.audit_log().string() + ":2: line 2 (record 2) was altered"),
              std::string::npos)
        << r.err;

    write_file(m_world.audit_log(), lines[0] + "\n" + lines[2] + "\n");
    auto removed = keyfence({"audit", "verify", "--json"});
    EXPECT_EQ(removed.exit_code, 1);
    const auto j = nlohmann::json::parse(removed.out);
    EXPECT_EQ(j["problem"]["kind"], "removed");
    EXPECT_EQ(j["problem"]["line"], 2);
}

TEST_F(CliPolicy, AuditShowListsRecordsSinceATime) {
    ASSERT_EQ(sign("ecp256").exit_code, 0);
    auto all = keyfence({"audit", "show", "--json"});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    EXPECT_EQ(nlohmann::json::parse(all.out)["records"].size(), 1u);
    auto recent = keyfence({"audit", "show", "--since", "1h"});
    EXPECT_NE(recent.out.find("sign raw  success"), std::string::npos) << recent.out;
    auto future = keyfence({"audit", "show", "--json", "--since", "2999-01-01"});
    EXPECT_EQ(nlohmann::json::parse(future.out)["records"].size(), 0u);
    EXPECT_EQ(keyfence({"audit", "show", "--since", "someday"}).exit_code, 2);
}

TEST_F(CliPolicy, ARequiredAuditLogThatCannotBeWrittenFailsTheSignature) {
    write_admin("[audit]\nrequired = true\npath = \"" + (m_world.dir() / "f" / "log").string() +
                "\"\n");
    write_file(m_world.dir() / "f", "a file, not a directory");
    auto r = sign("ecp256");
    EXPECT_EQ(r.exit_code, 8) << r.err;
    EXPECT_NE(r.err.find("audit log is required"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(sig()));
}

}  // namespace
}  // namespace keyfence::test
