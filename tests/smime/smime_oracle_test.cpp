// Bleichenbacher / Marvin (issue 8): what `smime decrypt` prints must not tell a bad PKCS#1 v1.5
// padding from a well-padded wrong content key or from corrupted content. The three messages
// are built here from one that openssl encrypted to the token's RSA key; each is decrypted on
// the token, and exit code, stdout and stderr must be identical byte for byte (Keyfence prints
// no timing; the RSA operation's own timing is the token's, docs/smime.md).

#include <algorithm>
#include <array>

#include "tests/smime/smime_fixture.hpp"
#include "tests/support/oracle_messages.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

class SmimeOracleTest : public SmimeTest {
  protected:
    std::string encrypted_der(const char* cipher) {
        return oracle_enveloped_der(m_world, "rsa2048", cipher, m_world.dir());
    }
    std::string rsa_encrypt(const std::string& plain, const char* padding) {
        return oracle_rsa_encrypt(m_world, "rsa2048", plain, padding, m_world.dir());
    }
    static std::string with_encrypted_key(std::string der, const std::string& key) {
        return oracle_with_encrypted_key(std::move(der), key);
    }
    ProcessResult decrypt(const std::string& der, const std::string& name) {
        const fs::path in = oracle_message(der, name, m_world.dir());
        const fs::path out = path(name + ".out");
        fs::remove(out);  // an earlier try's (a CBC flip may decrypt)
        auto r = kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", in.string(), "--out",
                     out.string()});
        EXPECT_EQ(fs::exists(out), r.exit_code == 0) << name << ": output only on success";
        return r;
    }
    void expect_indistinguishable(const std::vector<std::pair<std::string, ProcessResult>>& runs) {
        const ProcessResult& first = runs.front().second;
        EXPECT_EQ(first.exit_code, 7) << first.err;
        EXPECT_NE(first.err.find("decryption failed"), std::string::npos) << first.err;
        for (const auto& [name, r] : runs) {
            EXPECT_EQ(r.exit_code, first.exit_code) << name;
            EXPECT_EQ(r.out, first.out) << name << " vs " << runs.front().first;
            EXPECT_EQ(r.err, first.err) << name << " vs " << runs.front().first;
            EXPECT_EQ(r.out.find("secret plans"), std::string::npos) << name;
        }
    }
};

TEST_F(SmimeOracleTest, BadPaddingWrongKeyAndCorruptContentLookTheSame) {
    for (const char* cipher : {"-aes-256-cbc", "-aes-256-gcm"}) {
        const std::string der = encrypted_der(cipher);
        auto good = decrypt(der, "good");
        ASSERT_EQ(good.exit_code, 0) << cipher << good.err << "\n(the control decrypts)";
        ASSERT_NE(read_file(path("good.out")).find("the secret plans"), std::string::npos);

        // 1. Not PKCS#1 v1.5 at all: a raw RSA block whose padding bytes are wrong (00 17 ...).
        std::string raw(256, '\x5a');
        raw[0] = '\x00';
        raw[1] = '\x17';
        const auto bad_padding = decrypt(with_encrypted_key(der, rsa_encrypt(raw, "none")), "pad");
        // 2. Perfectly padded, but a content key that is not the message's.
        const std::string wrong_key(32, '\x42');
        const auto wrong = decrypt(with_encrypted_key(der, rsa_encrypt(wrong_key, "pkcs1")), "key");
        // 3. The right key, the content corrupted in its last bytes (CBC: the final block; GCM:
        //    the tag).
        const auto corrupted = oracle_corrupted_content(
            der, cipher, [&](const std::string& b, const std::string& n) { return decrypt(b, n); });
        SCOPED_TRACE(cipher);
        expect_indistinguishable(
            {{"bad padding", bad_padding}, {"wrong key", wrong}, {"corrupt content", corrupted}});
    }
}

}  // namespace
}  // namespace keyfence::test
