// The hand-written RFC 3156 corpus (tests/data/pgp/corpus.txt): MIME framed by hand — boundary
// styles, micalg case, protocol quoting, preamble and epilogue, 8bit/quoted-printable/base64
// signed parts, a multipart inside the signed part, CRLF and LF, parameters in odd order — with
// the crypto made by gpg at test time. Each well-formed message verifies or decrypts; each
// malformed one fails with its documented exit code (docs/pgp.md, "Exit codes").

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/gnupg/pgp_fixture.hpp"

namespace keyfence::test {
namespace {

const std::filesystem::path k_corpus =
    std::filesystem::path(KEYFENCE_SOURCE_DIR) / "tests/data/pgp";

struct Case {
    std::string file;
    std::string command;
    int exit_code = 0;
    std::string boundary;
};

std::vector<Case> corpus() {
    std::vector<Case> cases;
    std::ifstream in(k_corpus / "corpus.txt");
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        Case c;
        fields >> c.file >> c.command >> c.exit_code >> c.boundary;
        cases.push_back(c);
    }
    return cases;
}

// RFC 3156 §5 / RFC 2046 §5.1.1: the first body part is what lies between the line end of the
// first delimiter line and the line end before the next delimiter; signed as CRLF text.
std::string first_part_canonical(const std::string& message, const std::string& boundary) {
    const std::string delimiter = "\n--" + boundary;
    const auto first = message.find(delimiter);
    EXPECT_NE(first, std::string::npos) << boundary;
    const auto start = message.find('\n', first + 1) + 1;
    auto end = message.find(delimiter, start);
    EXPECT_NE(end, std::string::npos) << boundary;
    if (end > start && message[end - 1] == '\r') --end;
    std::string out;
    const std::string part = message.substr(start, end - start);
    for (std::size_t i = 0; i < part.size(); ++i) {
        if (part[i] == '\n' && (i == 0 || part[i - 1] != '\r')) out += '\r';
        out += part[i];
    }
    return out;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

void replace(std::string& text, const std::string& what, const std::string& with) {
    const auto at = text.find(what);
    ASSERT_NE(at, std::string::npos) << what;
    text.replace(at, what.size(), with);
}

TEST_F(PgpTest, HandWrittenRfc3156CorpusVerifiesDecryptsOrFailsAsDocumented) {
    const auto cases = corpus();
    ASSERT_GE(cases.size(), 9u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.file);
        std::string message = read_file(k_corpus / c.file);
        if (message.find("@SIGNATURE@") != std::string::npos) {
            write_file(path("part"), first_part_canonical(message, c.boundary));
            auto sig = peer_gpg({"--armor", "-u", k_bob, "--detach-sign", "-o",
                                 path("part.asc").string(), path("part").string()});
            ASSERT_EQ(sig.exit_code, 0) << sig.err;
            replace(message, "@SIGNATURE@", trimmed(read_file(path("part.asc"))));
        }
        for (const bool sign : {false, true}) {
            const std::string marker = sign ? "@ENCRYPTED+SIGNED@" : "@ENCRYPTED@";
            if (message.find(marker) == std::string::npos) continue;
            std::vector<std::string> args = {"--trust-model", "always", "--armor", "-r", k_me};
            if (sign) args.insert(args.end(), {"-u", k_bob, "--sign"});
            args.insert(args.end(),
                        {"-e", "-o", path("inner.asc").string(),
                         (k_corpus / (c.file.substr(0, c.file.size() - 4) + ".inner")).string()});
            std::filesystem::remove(path("inner.asc"));
            auto enc = peer_gpg(args);
            ASSERT_EQ(enc.exit_code, 0) << enc.err;
            replace(message, marker, trimmed(read_file(path("inner.asc"))));
        }
        write_file(path("in.eml"), message);
        std::filesystem::remove(path("out.eml"));
        auto r = kf({"pgp", c.command, "--homedir", home(), "--in", path("in.eml").string(),
                     "--out", path("out.eml").string()});
        EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
        if (c.file == "signed-wrong-micalg.eml") {
            EXPECT_NE(r.out.find("micalg_mismatch"), std::string::npos) << r.out;
        }
        if (c.exit_code == 0 && c.command == "decrypt") {
            const std::string out = read_file(path("out.eml"));
            EXPECT_TRUE(out.find("The corpus plaintext") != std::string::npos ||
                        out.find("Signed and encrypted by Bob, nested.") != std::string::npos)
                << out;
            if (c.file.find("signed") != std::string::npos) {
                EXPECT_NE(r.out.find("VERIFIED"), std::string::npos) << r.out;
            }
        }
        if (c.exit_code != 0) {
            EXPECT_FALSE(std::filesystem::exists(path("out.eml"))) << "partial output";
        }
    }
}

}  // namespace
}  // namespace keyfence::test
