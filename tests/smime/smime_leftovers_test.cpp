// After signing, encrypting and decrypting, nothing Keyfence left on disk holds the PIN or the
// message's plaintext: not the audit log, the certificate store, the policy or state folders,
// nor a stray temporary file. (A stolen disk image must yield neither.)

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "tests/smime/smime_fixture.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

std::string contents(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(SmimeTest, NothingLeftOnDiskHoldsThePinOrThePlaintext) {
    const std::string secret = "Kestrel-7f3a1c: the source meets us at the east gate";
    auto in = message("m.eml", "rsa2048", secret + "\n");
    ASSERT_EQ(kf({"smime", "sign", "--key", key("rsa2048"), "--in", in.string(), "--out",
                  path("s.eml").string()})
                  .exit_code,
              0);
    ASSERT_EQ(kf({"smime", "encrypt", "--to", m_world.cert_pem("rsa2048"), "--in",
                  path("s.eml").string(), "--out", path("e.eml").string()})
                  .exit_code,
              0);
    auto d = kf({"smime", "decrypt", "--key", key("rsa2048"), "--ca", m_world.ca_pem(), "--in",
                 path("e.eml").string(), "--out", path("d.eml").string()});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    ASSERT_NE(read_file(path("d.eml")).find(secret), std::string::npos);
    // A wrong PIN too: its record must not hold what was typed.
    auto wrong = run_keyfence(m_world,
                              {"--pin-fd", "3", "smime", "sign", "--key", key("rsa2048"), "--in",
                               in.string(), "--out", path("w.eml").string()},
                              {.env = env(), .fd3_data = "987654\n"});
    ASSERT_EQ(wrong.exit_code, 3) << wrong.err;

    // The files this test wrote or asked for, and the token store (SoftHSM's own files), are
    // not Keyfence's leftovers; everything else in the world is.
    const std::set<fs::path> ours = {path("m.eml"), path("s.eml"), path("e.eml"), path("d.eml")};
    std::size_t scanned = 0;
    for (const auto& entry : fs::recursive_directory_iterator(m_world.dir())) {
        if (!entry.is_regular_file() || ours.count(entry.path()) != 0) continue;
        const std::string name = entry.path().string();
        if (name.rfind((m_world.dir() / "tokens").string(), 0) == 0) continue;
        const std::string data = contents(entry.path());
        ++scanned;
        EXPECT_EQ(data.find("123456"), std::string::npos) << "the PIN is in " << name;
        EXPECT_EQ(data.find("987654"), std::string::npos) << "the wrong PIN is in " << name;
        EXPECT_EQ(data.find("Kestrel-7f3a1c"), std::string::npos) << "plaintext in " << name;
    }
    // The audit log and the certificate store were among what was scanned.
    EXPECT_TRUE(fs::exists(m_world.dir() / "state" / "keyfence" / "audit.log"));
    EXPECT_GT(scanned, 3u);
    EXPECT_FALSE(fs::exists(path("w.eml")));
}

}  // namespace
}  // namespace keyfence::test
