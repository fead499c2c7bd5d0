// The layers of ../shared/STYLE.md, checked on the source tree: mail/ never sees PKCS#11 or
// PC/SC, token/ and base/ never see MIME, CMS or GPGME, base/ sees no other layer.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

std::vector<std::string> offending_includes(const std::string& folder, const std::regex& banned) {
    std::vector<std::string> found;
    const fs::path root = fs::path(KEYFENCE_SOURCE_DIR) / folder;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        const auto ext = entry.path().extension();
        if (ext != ".cpp" && ext != ".hpp" && ext != ".h") continue;
        std::ifstream in(entry.path());
        std::string line;
        for (int n = 1; std::getline(in, line); ++n) {
            if (std::regex_search(line, banned)) {
                found.push_back(entry.path().string() + ":" + std::to_string(n) + ": " + line);
            }
        }
    }
    return found;
}

std::string join(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

TEST(Layering, MailKnowsNothingOfPkcs11OrPcsc) {
    const std::regex banned(
        R"(#\s*include\s*[<"](libp11\.h|pkcs11\.h|p11-kit/|winscard\.h|PCSC/|token/))");
    const auto found = offending_includes("mail", banned);
    EXPECT_TRUE(found.empty()) << join(found);
}

TEST(Layering, TokenAndBaseKnowNothingOfMail) {
    const std::regex banned(R"(#\s*include\s*[<"](gpgme|gmime/|openssl/cms\.h|mail/))");
    auto found = offending_includes("token", banned);
    const auto base = offending_includes("base", banned);
    found.insert(found.end(), base.begin(), base.end());
    EXPECT_TRUE(found.empty()) << join(found);
}

TEST(Layering, BaseIsTheLeaf) {
    const std::regex banned(R"(#\s*include\s*"(token|engine|mail|cli)/)");
    const auto found = offending_includes("base", banned);
    EXPECT_TRUE(found.empty()) << join(found);
}

TEST(Layering, TokenNeverIncludesTheEngineOrCli) {
    const std::regex banned(R"(#\s*include\s*"(engine|cli)/)");
    const auto found = offending_includes("token", banned);
    EXPECT_TRUE(found.empty()) << join(found);
}

}  // namespace
