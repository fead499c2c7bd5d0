// The "Johnny, you are fired" corpus (USENIX Security 2019; ../shared/corpora/, EXPECTED.md):
// every S/MIME message, and every message with no signature at all, goes through
// `keyfence smime verify` as of 2020-06-01 (the certificates expired in 2022) with the corpus's
// intermediate and the system trust store (GlobalSign Root CA - R3, from ca-certificates). The
// controls must verify, with the right signer; every attack must fail with a report that says
// which part is signed, by whom, and why the message as a whole is not valid.
//
// The OpenPGP messages (PGP/MIME and inline) go through `keyfence pgp verify` in a GnuPG home of
// their own holding the corpus's public keys, as of 2020-06-01 (--at): the controls verify with
// the right signer, every attack fails with the failure_code of its S/MIME twin. The table names
// every file of the corpus.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

enum class Protocol { Smime, Pgp, None };
enum class Expect { Valid, Invalid, CleanError, Pending };

struct Row {
    const char* file;  ///< relative to the corpus folder
    Protocol protocol;
    Expect expect;
    const char* outcome;  ///< Valid: the signer's address; Invalid: Keyfence's failure_code
    const char* mention;  ///< text the report must hold (which part, whom, why), or ""
};

constexpr const char* k_manager = "manager@bigcorporation.de";
constexpr const char* k_eve = "eve@bigcorporation.de";

// clang-format off
const Row k_rows[] = {
    // The controls: without them, refusing everything would look like success.
    {"assets/valid-signed/manager-smime.eml", Protocol::Smime, Expect::Valid, k_manager, ""},
    {"assets/valid-signed/eve-smime.eml", Protocol::Smime, Expect::Valid, k_eve, ""},
    {"01-cms/valid_email_from_manager.eml", Protocol::Smime, Expect::Valid, k_manager, ""},
    // 01-cms: eContent confusion, several or no SignerInfos, a crash.
    {"01-cms/c1_eContent-confusion/eContent_confusion.eml", Protocol::Smime, Expect::Invalid, "econtent_differs", "eContent"},
    {"01-cms/c1_eContent-confusion/eContent_confusion_refinement.eml", Protocol::Smime, Expect::Invalid, "econtent_differs", "eContent"},
    {"01-cms/c2_multiple-signerInfos/multiple_signerInfos_append_johnny.eml", Protocol::Smime, Expect::Invalid, "bad_signature", "signer 2 of 2"},
    {"01-cms/c2_multiple-signerInfos/multiple_signerInfos_prepend_johnny.eml", Protocol::Smime, Expect::Invalid, "bad_signature", "signer 1 of 2"},
    {"01-cms/c3_no-signerInfos/no_signerInfos_detached.eml", Protocol::Smime, Expect::Invalid, "no_signer_infos", "no SignerInfo"},
    {"01-cms/c3_no-signerInfos/no certificates/no_signerInfos_no_certificates_detached.eml", Protocol::Smime, Expect::Invalid, "no_signer_infos", "no SignerInfo"},
    {"01-cms/crashes/crash_01.eml", Protocol::Smime, Expect::CleanError, "", ""},
    // 03-mime: a valid signature inside, not covering the message.
    {"03-mime/m1-prepending-text/m1-smime.eml", Protocol::Smime, Expect::Invalid, "partially_signed", "part 2 (multipart/signed), signed by \"manager@bigcorporation.de\""},
    {"03-mime/m2-hiding-with-html/m2-smime-mix.eml", Protocol::Smime, Expect::Invalid, "partially_signed", "part 2 (multipart/signed), signed by \"manager@bigcorporation.de\""},
    {"03-mime/m3-hiding-in-reference/m3-smime.eml", Protocol::Smime, Expect::Invalid, "partially_signed", "part 2 (multipart/signed, Content-ID reference), signed by"},
    {"03-mime/m4-hiding-as-attachment/m4-smime.eml", Protocol::Smime, Expect::Invalid, "partially_signed", "part 2 (multipart/signed, attachment), signed by"},
    // 04-id: the signer (eve) is not the message's one From: mailbox.
    {"04-id/i1-sender-signer-checks/i1-from-unequals-signer-smime.eml", Protocol::Smime, Expect::Invalid, "signer_is_not_from", "\"eve@bigcorporation.de\""},
    {"04-id/i2-display-name-confusion/i2-from-contains-signer-smime.eml", Protocol::Smime, Expect::Invalid, "display_name_not_certified", "\"The Manager\""},
    {"04-id/i2-display-name-confusion/i2-from-is-empty-smime.eml", Protocol::Smime, Expect::Invalid, "from_without_address", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-nonexistent-smime.eml", Protocol::Smime, Expect::Invalid, "no_from", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-only-a-name-smime.eml", Protocol::Smime, Expect::Invalid, "from_without_address", "\"The Manager\""},
    {"04-id/i2-display-name-confusion/i2-from-is-sender-signer-a-smime.eml", Protocol::Smime, Expect::Invalid, "display_name_is_an_address", "\"manager@bigcorporation.de\""},
    {"04-id/i2-display-name-confusion/i2-from-is-sender-signer-b-smime.eml", Protocol::Smime, Expect::Invalid, "from_without_address", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-signer-sender-a-smime.eml", Protocol::Smime, Expect::Invalid, "display_name_is_an_address", "\"eve@bigcorporation.de\""},
    {"04-id/i2-display-name-confusion/i2-from-is-signer-sender-b-smime.eml", Protocol::Smime, Expect::Invalid, "from_without_address", ""},
    {"04-id/i3-from-sender-confusion/i3-from-is-sender-sender-signer-smime.eml", Protocol::Smime, Expect::Invalid, "several_from_addresses", ""},
    {"04-id/i3-from-sender-confusion/i3-from-is-sender-signer-sender-smime.eml", Protocol::Smime, Expect::Invalid, "several_from_addresses", ""},
    {"04-id/i3-from-sender-confusion/i3-from-sender-others-signer-smime.eml", Protocol::Smime, Expect::Invalid, "sender_differs", ""},
    {"04-id/i3-from-sender-confusion/i3-from-signer-others-sender-smime.eml", Protocol::Smime, Expect::Invalid, "sender_differs", "Sender:"},
    {"04-id/i3-from-sender-confusion/i3-from1-sender-from2-signer-smime.eml", Protocol::Smime, Expect::Invalid, "several_from_fields", "2 From: header fields"},
    {"04-id/i3-from-sender-confusion/i3-from1-signer-from2-sender-smime.eml", Protocol::Smime, Expect::Invalid, "several_from_fields", "2 From: header fields"},
    // 05-ui: imitates a security indicator, with no signature at all.
    {"05-ui/u1-ui-redressing/u1-generic.eml", Protocol::None, Expect::Invalid, "not_signed", "Signed: nothing"},

    // PGP rows: `keyfence pgp verify --at 2020-06-01`; Invalid rows name the failure_code, the
    // same as the S/MIME row of the attack.
    {"assets/valid-signed/manager-pgp-inline.eml", Protocol::Pgp, Expect::Valid, k_manager, ""},
    {"assets/valid-signed/manager-pgp-mime.eml", Protocol::Pgp, Expect::Valid, k_manager, ""},
    {"assets/valid-signed/eve-pgp-inline.eml", Protocol::Pgp, Expect::Valid, k_eve, ""},
    {"assets/valid-signed/eve-pgp-mime.eml", Protocol::Pgp, Expect::Valid, k_eve, ""},
    {"03-mime/m1-prepending-text/m1-pgp-inline.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m1-prepending-text/m1-pgp-inline2.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m1-prepending-text/m1-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m2-hiding-with-html/m2-pgp-inline.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m2-hiding-with-html/m2-pgp-inline2.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m2-hiding-with-html/m2-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m3-hiding-in-reference/m3-pgp-inline.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m3-hiding-in-reference/m3-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m4-hiding-as-attachment/m4-pgp-inline.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"03-mime/m4-hiding-as-attachment/m4-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "partially_signed", ""},
    {"04-id/i1-sender-signer-checks/i1-from-unequals-signer-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "signer_is_not_from", ""},
    {"04-id/i2-display-name-confusion/i2-from-contains-signer-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "display_name_not_certified", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-empty-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "from_without_address", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-nonexistent-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "no_from", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-only-a-name-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "from_without_address", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-sender-signer-a-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "display_name_is_an_address", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-sender-signer-b-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "from_without_address", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-signer-sender-a-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "display_name_is_an_address", ""},
    {"04-id/i2-display-name-confusion/i2-from-is-signer-sender-b-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "from_without_address", ""},
    {"04-id/i3-from-sender-confusion/i3-from-is-sender-sender-signer-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "several_from_addresses", ""},
    {"04-id/i3-from-sender-confusion/i3-from-is-sender-signer-sender-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "several_from_addresses", ""},
    {"04-id/i3-from-sender-confusion/i3-from-sender-others-signer-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "sender_differs", ""},
    {"04-id/i3-from-sender-confusion/i3-from-signer-others-sender-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "sender_differs", ""},
    {"04-id/i3-from-sender-confusion/i3-from1-sender-from2-signer-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "several_from_fields", ""},
    {"04-id/i3-from-sender-confusion/i3-from1-signer-from2-sender-pgp-mime.eml", Protocol::Pgp, Expect::Invalid, "several_from_fields", ""},
};
// clang-format on

// GoogleTest prints a row by its file.
void PrintTo(const Row& row, std::ostream* os) {
    *os << row.file;
}

const fs::path k_corpus = KEYFENCE_JOHNNY_CORPUS;

class JohnnyCorpus : public ::testing::TestWithParam<Row> {
  protected:
    void SetUp() override {
        if (!fs::is_directory(k_corpus)) GTEST_SKIP() << "corpus absent: " << k_corpus;
    }
    ProcessResult verify(const Row& row, bool json) {
        std::vector<std::string> argv = {KEYFENCE_BINARY};
        if (json) argv.push_back("--json");
        argv.insert(argv.end(), {"smime", "verify", "--at", "2020-06-01", "--chain",
                                 (k_corpus / "assets/certificates/intermediate_ca.crt").string(),
                                 "--in", (k_corpus / row.file).string()});
        return run(argv, {.env = {{"XDG_DATA_HOME", (m_home.path() / "xdg").string()}}});
    }
    TempDir m_home;
};

// The lines of `text` that start with "Result:".
std::vector<std::string> result_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("Result:", 0) == 0) out.push_back(line);
    }
    return out;
}

TEST_P(JohnnyCorpus, SmimeVerifyJudgesTheMessage) {
    const Row& row = GetParam();
    ASSERT_TRUE(fs::exists(k_corpus / row.file)) << row.file;
    const auto text = verify(row, false);
    const auto json = verify(row, true);
    ASSERT_EQ(text.exit_code, json.exit_code) << row.file;
    if (row.expect == Expect::CleanError) {
        // A clean non-zero exit (1: not verified, 7: malformed), never a crash or a verdict.
        EXPECT_TRUE(text.exit_code == 1 || text.exit_code == 7) << text.exit_code << text.err;
        EXPECT_EQ(text.out.find("Result: VERIFIED"), std::string::npos);
        return;
    }
    const auto results = result_lines(text.out);
    ASSERT_EQ(results.size(), 1u) << "one verdict, Keyfence's own:\n" << text.out;
    EXPECT_EQ(text.out.substr(text.out.rfind("Result:")), results.front() + "\n")
        << "the verdict is the last line";
    const auto j = nlohmann::json::parse(json.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << json.out;
    if (row.expect == Expect::Valid) {
        EXPECT_EQ(text.exit_code, 0) << row.file << "\n" << text.out << text.err;
        EXPECT_EQ(results.front(),
                  std::string("Result: VERIFIED: the whole message body is signed by \"") +
                      row.outcome + "\", the From: address");
        EXPECT_EQ(j["verified"], true);
        EXPECT_EQ(j["coverage"], "whole");
        ASSERT_EQ(j["signers"].size(), 1u);
        EXPECT_EQ(j["signers"][0]["emails"][0], row.outcome);
        EXPECT_EQ(j["at"], "2020-06-01T00:00:00Z");
        return;
    }
    EXPECT_EQ(text.exit_code, 1) << row.file << "\n" << text.out << text.err;
    EXPECT_EQ(results.front().rfind("Result: NOT VERIFIED (" + std::string(row.outcome) + "): ", 0),
              0u)
        << row.file << "\n"
        << text.out;
    EXPECT_NE(text.out.find(row.mention), std::string::npos) << row.mention << "\n" << text.out;
    EXPECT_EQ(j["verified"], false);
    EXPECT_EQ(j["failure_code"], row.outcome) << json.out;
    // By whom: the signers are checked and named even when the message fails — eve for the ID
    // attacks, the manager for the eContent confusion (over the hidden content).
    const std::string file = row.file;
    if (file.rfind("04-id/", 0) == 0) {
        EXPECT_EQ(j["signers"][0]["emails"][0], k_eve) << json.out;
    }
    if (std::string(row.outcome) == "econtent_differs") {
        EXPECT_EQ(j["signers"][0]["emails"][0], k_manager) << json.out;
    }
    // Which part is signed and by whom: every signed entity is listed with its signers.
    if (std::string(row.outcome) == "partially_signed") {
        EXPECT_EQ(j["coverage"], "partial");
        ASSERT_EQ(j["signed_parts"].size(), 1u);
        EXPECT_EQ(j["signed_parts"][0]["path"], "2");
        EXPECT_EQ(j["signed_parts"][0]["signers"][0]["emails"][0], k_manager);
        EXPECT_EQ(j["unsigned_parts"][0]["path"], "1");
    }
}

std::vector<Row> rows_to_run() {
    std::vector<Row> rows;
    for (const auto& r : k_rows) {
        if (r.protocol != Protocol::Pgp) rows.push_back(r);
    }
    return rows;
}

std::string row_name(const ::testing::TestParamInfo<Row>& info) {
    std::string name = fs::path(info.param.file).stem().string();
    for (auto& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Johnny, JohnnyCorpus, ::testing::ValuesIn(rows_to_run()), row_name);

// The OpenPGP rows, through `keyfence pgp verify` in a GnuPG home made for each test.
class JohnnyCorpusPgp : public JohnnyCorpus {
  protected:
    void SetUp() override {
        JohnnyCorpus::SetUp();
        if (IsSkipped()) return;
        ASSERT_EQ(kf({"--no-p11-kit", "--module", k_softhsm_module, "pgp", "setup", "--homedir",
                      home().string(), "--pkcs11"})
                      .exit_code,
                  0);
        for (const char* key : {"eve@bigcorporation.asc", "manager@bigcorporation.asc"}) {
            auto imported = kf({"pgp", "import", "--homedir", home().string(),
                                (k_corpus / "assets/public-keys" / key).string()});
            ASSERT_EQ(imported.exit_code, 0) << imported.err;
        }
    }
    void TearDown() override {
        // Bounded, as in tests/gnupg: gpgconf can wait on an agent that is still starting.
        if (fs::exists(home())) {
            run({"timeout", "20", "gpgconf", "--homedir", home().string(), "--kill", "all"});
        }
    }
    fs::path home() const { return m_home.path() / "gnupg"; }
    ProcessResult kf(const std::vector<std::string>& args) {
        // A bound on each call, so that a hung gpg shows as this test's failure, not a timeout.
        std::vector<std::string> argv = {"timeout", "120", KEYFENCE_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, {.env = {{"XDG_DATA_HOME", (m_home.path() / "xdg").string()},
                                  {"XDG_STATE_HOME", (m_home.path() / "state").string()}}});
    }
};

TEST_P(JohnnyCorpusPgp, PgpVerifyJudgesTheMessage) {
    const Row& row = GetParam();
    const std::string in = (k_corpus / row.file).string();
    // As of 2020-06-01, as the S/MIME rows.
    const auto text =
        kf({"pgp", "verify", "--homedir", home().string(), "--at", "2020-06-01", "--in", in});
    const auto json = kf({"--json", "pgp", "verify", "--homedir", home().string(), "--at",
                          "2020-06-01", "--in", in});
    ASSERT_EQ(text.exit_code, json.exit_code) << row.file;
    const auto results = result_lines(text.out + text.err);
    ASSERT_EQ(results.size(), 1u) << "one verdict, Keyfence's own:\n" << text.out << text.err;
    const auto j = nlohmann::json::parse(json.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << json.out << json.err;
    if (row.expect == Expect::Valid) {
        EXPECT_EQ(text.exit_code, 0) << row.file << "\n" << text.out << text.err;
        EXPECT_EQ(results.front(),
                  std::string("Result: VERIFIED: the whole message body is signed by \"") +
                      row.outcome + "\", the From: address");
        EXPECT_EQ(j["verified"], true);
        EXPECT_EQ(j["at"], "2020-06-01T00:00:00Z");
        EXPECT_NE(json.out.find(row.outcome), std::string::npos) << "the signer:\n" << json.out;
        return;
    }
    EXPECT_EQ(text.exit_code, 1) << row.file << "\n" << text.out << text.err;
    EXPECT_EQ(results.front().rfind("Result: NOT VERIFIED (" + std::string(row.outcome), 0), 0u)
        << results.front();
    EXPECT_EQ(j["verified"], false);
    if (*row.outcome != '\0') {
        EXPECT_EQ(j["failure_code"], row.outcome) << json.out;
    }
}

std::vector<Row> pgp_rows() {
    std::vector<Row> rows;
    for (const auto& r : k_rows) {
        if (r.protocol == Protocol::Pgp) rows.push_back(r);
    }
    return rows;
}

INSTANTIATE_TEST_SUITE_P(JohnnyPgp, JohnnyCorpusPgp, ::testing::ValuesIn(pgp_rows()), row_name);

// The table names every message of the corpus, so a message added to it is not silently left
// out.
TEST(JohnnyCorpusTable, NamesEveryMessageOfTheCorpus) {
    if (!fs::is_directory(k_corpus)) GTEST_SKIP() << "corpus absent: " << k_corpus;
    std::set<std::string> listed;
    for (const auto& r : k_rows) {
        EXPECT_TRUE(listed.insert(r.file).second) << "listed twice: " << r.file;
        EXPECT_NE(r.expect, Expect::Pending) << r.file;
    }
    std::set<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(k_corpus)) {
        if (e.path().extension() == ".eml") {
            found.insert(fs::relative(e.path(), k_corpus).string());
        }
    }
    EXPECT_EQ(found, listed);
}

}  // namespace
}  // namespace keyfence::test
