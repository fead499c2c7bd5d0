// The documented limits (docs/limits.md): beyond each, a clear error and exit 7, for verify and
// decrypt alike (the checks sit in mail/mime and mail/smime, under every parser); just within
// them, the message is processed as usual.

#include "mail/mime/limits.hpp"
#include "mail/smime/cms_limits.hpp"
#include "tests/smime/smime_fixture.hpp"

namespace keyfence::test {
namespace {

constexpr auto k_limits = mail::mime::k_mime_limits;

std::string headers() {
    return "From: rsa2048@example.org\r\nSubject: limits\r\nMIME-Version: 1.0\r\n";
}

// `depth` multiparts, each inside the one before.
std::string nested(int depth) {
    std::string m = headers();
    for (int i = 0; i < depth; ++i) {
        m += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
             std::to_string(i) + "\r\n";
    }
    m += "Content-Type: text/plain\r\n\r\ndeep\r\n";
    for (int i = depth - 1; i >= 0; --i) m += "--b" + std::to_string(i) + "--\r\n";
    return m;
}

std::string many_parts(int parts) {
    std::string m = headers() + "Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n";
    for (int i = 0; i < parts; ++i) m += "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n";
    return m + "--p--\r\n";
}

class SmimeLimitsTest : public SmimeTest {
  protected:
    ProcessResult verify(const std::string& text) {
        write_file(path("l.eml"), text);
        return kf({"smime", "verify", "--ca", m_world.ca_pem(), "--in", path("l.eml").string()});
    }
    void expect_refused(const std::string& text, const std::string& limit) {
        auto v = verify(text);
        EXPECT_EQ(v.exit_code, 7) << limit << "\n" << v.err << v.out;
        EXPECT_NE(v.err.find("exceeds Keyfence's limit on " + limit), std::string::npos) << v.err;
        EXPECT_NE(v.err.find("docs/limits.md"), std::string::npos) << v.err;
        auto d = kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", path("l.eml").string()});
        EXPECT_EQ(d.exit_code, 7) << limit << " (decrypt)\n" << d.err;
    }
};

TEST_F(SmimeLimitsTest, MimeStructureBeyondTheLimitsIsRefusedWithExitSeven) {
    // Within the limits: parsed, and simply not signed.
    EXPECT_EQ(verify(nested(k_limits.max_depth - 1)).exit_code, 1);
    EXPECT_EQ(verify(many_parts(k_limits.max_parts - 1)).exit_code, 1);
    expect_refused(nested(k_limits.max_depth + 1), "MIME nesting depth");
    expect_refused(many_parts(k_limits.max_parts + 1), "the number of MIME parts");
    std::string fields = headers();
    for (int i = 0; i <= k_limits.max_header_fields; ++i) fields += "X-F: v\r\n";
    expect_refused(fields + "\r\nbody\r\n", "header fields in one header block");
    std::string folded = headers() + "X-Big: v";
    for (std::size_t n = 0; n <= k_limits.max_header_bytes; n += 900) {
        folded += "\r\n " + std::string(898, 'a');
    }
    expect_refused(folded + "\r\n\r\nbody\r\n", "the size of one header block in bytes");
    expect_refused(headers() + "\r\n" + std::string(k_limits.max_line_bytes + 1, 'x') + "\r\n",
                   "the length of one line in bytes");
    // The line limit is checked on the blocks GMime's parser reads (read_ahead_stream.hpp):
    // a line of exactly the limit passes wherever the blocks end, one byte more does not, and a
    // long line is reported before a broken tree after it.
    const std::string pad(700000, 'p');
    EXPECT_EQ(
        verify(headers() + "\r\n" + pad + "\n" + std::string(k_limits.max_line_bytes, 'x') + "\n")
            .exit_code,
        1);
    expect_refused(headers() + "\r\n" + pad + "\n" + std::string(k_limits.max_line_bytes + 1, 'x') +
                       "\n" + many_parts(k_limits.max_parts + 1),
                   "the length of one line in bytes");
}

TEST_F(SmimeLimitsTest, CmsBeyondTheLimitsIsRefusedWithExitSeven) {
    write_file(path("entity"), "Content-Type: text/plain\r\n\r\nmany signers\r\n");
    std::vector<std::string> argv = {"openssl",
                                     "cms",
                                     "-sign",
                                     "-in",
                                     path("entity").string(),
                                     "-out",
                                     path("s.smime").string()};
    for (int i = 0; i <= mail::smime::k_cms_limits.max_signer_infos; ++i) {
        // A key of its own for each: openssl refuses the same signer twice.
        const std::string name = "signer" + std::to_string(i);
        software_recipient(name, "ec");
        argv.insert(argv.end(), {"-signer", path(name + ".pem").string(), "-inkey",
                                 path(name + ".key").string()});
    }
    ASSERT_EQ(run(argv).exit_code, 0);
    auto v = verify(headers() + read_file(path("s.smime")));
    EXPECT_EQ(v.exit_code, 7) << v.err << v.out;
    EXPECT_NE(v.err.find("limit on SignerInfos (17, at most 16)"), std::string::npos) << v.err;
}

TEST_F(SmimeLimitsTest, AnEnvelopeWithTooManyRecipientsIsRefused) {
    write_file(path("entity"), "Content-Type: text/plain\r\n\r\nfor many\r\n");
    std::vector<std::string> argv = {"openssl",  "cms",
                                     "-encrypt", "-aes-256-cbc",
                                     "-in",      path("entity").string(),
                                     "-out",     path("e.smime").string()};
    // The token key's own certificate, one more time than the limit allows.
    for (int i = 0; i <= mail::smime::k_cms_limits.max_recipients; ++i) {
        argv.push_back(m_world.cert_pem("rsa2048"));
    }
    ASSERT_EQ(run(argv).exit_code, 0);
    write_file(path("e.eml"), headers() + read_file(path("e.smime")));
    auto d = kf({"smime", "decrypt", "--key", key("rsa2048"), "--in", path("e.eml").string(),
                 "--out", path("d.eml").string()});
    EXPECT_EQ(d.exit_code, 7) << d.err;
    EXPECT_NE(d.err.find("exceeds Keyfence's limit on"), std::string::npos) << d.err;
    EXPECT_FALSE(std::filesystem::exists(path("d.eml")));
}

}  // namespace
}  // namespace keyfence::test
