// gpg's decrypt status lines (recorded from gpg 2.2.40, doc/DETAILS) read as GPGME would, and
// the plaintext stream that takes gpg's output: no daemons.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

#include "base/hex.hpp"
#include "mail/pgp/decrypt_status.hpp"
#include "mail/pgp/gpg_process.hpp"
#include "mail/pgp/plaintext_stream.hpp"
#include "mail/pgp/range_feed.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace pgp = mail::pgp;

constexpr const char* k_fpr = "2F43FD7C85653C15DAF6BF2415DF04501617FEB9";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(at, nl - at);
        const std::string prefix = "[GNUPG:] ";
        if (line.rfind(prefix, 0) == 0) lines.push_back(line.substr(prefix.size()));
        at = nl + 1;
    }
    return lines;
}

const std::string k_head =
    "[GNUPG:] ENC_TO 15DF04501617FEB9 1 0\n"
    "[GNUPG:] KEY_CONSIDERED 2F43FD7C85653C15DAF6BF2415DF04501617FEB9 0\n"
    "[GNUPG:] DECRYPTION_KEY 2F43FD7C85653C15DAF6BF2415DF04501617FEB9 "
    "2F43FD7C85653C15DAF6BF2415DF04501617FEB9 u\n"
    "[GNUPG:] BEGIN_DECRYPTION\n";

TEST(PgpDecryptStatus, GoodMdcDecryptionWithOnePassSignature) {
    const auto s = pgp::parse_decrypt_status(lines_of(
        k_head +
        "[GNUPG:] DECRYPTION_INFO 2 9 0\n"
        "[GNUPG:] PLAINTEXT 62 1796017406 small.txt\n"
        "[GNUPG:] NEWSIG rsa2048@example.org\n"
        "[GNUPG:] SIG_ID PAFE0Wo8RoSBcMLRIFUVrOc2MFM 2026-11-30 1796017406\n"
        "[GNUPG:] GOODSIG 15DF04501617FEB9 Test rsa2048 <rsa2048@example.org>\n"
        "[GNUPG:] VALIDSIG 2F43FD7C85653C15DAF6BF2415DF04501617FEB9 2026-11-30 1796017406 0 4 0 "
        "1 8 00 2F43FD7C85653C15DAF6BF2415DF04501617FEB9\n"
        "[GNUPG:] TRUST_ULTIMATE 0 pgp\n"
        "[GNUPG:] DECRYPTION_OKAY\n"
        "[GNUPG:] GOODMDC\n"
        "[GNUPG:] END_DECRYPTION\n"));
    EXPECT_TRUE(s.okay);
    EXPECT_TRUE(s.integrity);
    EXPECT_FALSE(s.no_integrity);
    EXPECT_EQ(pgp::decrypt_error(s), 0u);
    EXPECT_EQ(s.cipher, "AES256.CFB");
    ASSERT_EQ(s.recipients, std::vector<std::string>{"15DF04501617FEB9"});
    ASSERT_EQ(s.signatures.size(), 1u);
    const auto& sig = s.signatures[0];
    EXPECT_EQ(sig.fingerprint, k_fpr);  // VALIDSIG's, not GOODSIG's key id
    EXPECT_EQ(sig.status, 0u);
    EXPECT_EQ(sig.timestamp, 1796017406);
    EXPECT_EQ(sig.expires, 0);
    EXPECT_EQ(sig.hash_algo, 8);  // SHA256
    EXPECT_EQ(sig.validity, GPGME_VALIDITY_ULTIMATE);
    EXPECT_FALSE(sig.key_revoked);
}

TEST(PgpDecryptStatus, SignatureVerdictsMapAsGpgmeDoes) {
    const auto s = pgp::parse_decrypt_status(
        lines_of(k_head +
                 "[GNUPG:] DECRYPTION_INFO 2 9 0\n"
                 "[GNUPG:] NEWSIG\n"
                 "[GNUPG:] BADSIG 15DF04501617FEB9 Test <t@example.org>\n"
                 "[GNUPG:] NEWSIG\n"
                 "[GNUPG:] ERRSIG 0123456789ABCDEF 1 10 00 1796017406 9 "
                 "AAAABBBBCCCCDDDDEEEEFFFF0000111122223333\n"
                 "[GNUPG:] NO_PUBKEY 0123456789ABCDEF\n"
                 "[GNUPG:] NEWSIG\n"
                 "[GNUPG:] EXPKEYSIG 15DF04501617FEB9 Test <t@example.org>\n"
                 "[GNUPG:] VALIDSIG 2F43FD7C85653C15DAF6BF2415DF04501617FEB9 2026-11-30 1796017406 "
                 "1796100000 4 0 1 8 00 2F43FD7C85653C15DAF6BF2415DF04501617FEB9\n"
                 "[GNUPG:] TRUST_UNDEFINED 0 pgp\n"
                 "[GNUPG:] NEWSIG\n"
                 "[GNUPG:] REVKEYSIG 15DF04501617FEB9 Test <t@example.org>\n"
                 "[GNUPG:] NEWSIG\n"
                 "[GNUPG:] EXPSIG 15DF04501617FEB9 Test <t@example.org>\n"
                 "[GNUPG:] TRUST_MARGINAL 0 pgp\n"
                 "[GNUPG:] DECRYPTION_OKAY\n"
                 "[GNUPG:] GOODMDC\n"));
    ASSERT_EQ(s.signatures.size(), 5u);
    EXPECT_EQ(gpg_err_code(s.signatures[0].status), GPG_ERR_BAD_SIGNATURE);
    EXPECT_EQ(s.signatures[0].fingerprint, "15DF04501617FEB9");
    EXPECT_EQ(gpg_err_code(s.signatures[1].status), GPG_ERR_NO_PUBKEY);
    EXPECT_EQ(s.signatures[1].fingerprint, "AAAABBBBCCCCDDDDEEEEFFFF0000111122223333");
    EXPECT_EQ(s.signatures[1].hash_algo, 10);  // SHA512
    EXPECT_EQ(s.signatures[1].timestamp, 1796017406);
    EXPECT_EQ(gpg_err_code(s.signatures[2].status), GPG_ERR_KEY_EXPIRED);
    EXPECT_EQ(s.signatures[2].expires, 1796100000);
    EXPECT_EQ(s.signatures[2].validity, GPGME_VALIDITY_UNKNOWN);
    EXPECT_EQ(gpg_err_code(s.signatures[3].status), GPG_ERR_CERT_REVOKED);
    EXPECT_TRUE(s.signatures[3].key_revoked);
    EXPECT_EQ(gpg_err_code(s.signatures[4].status), GPG_ERR_SIG_EXPIRED);
    EXPECT_EQ(s.signatures[4].validity, GPGME_VALIDITY_MARGINAL);
    // A bad signature does not fail the decryption (the report says it did not verify).
    EXPECT_EQ(pgp::decrypt_error(s), 0u);
}

TEST(PgpDecryptStatus, BadPinIsTheTokensError) {
    const auto s =
        pgp::parse_decrypt_status(lines_of(k_head + "[GNUPG:] ERROR pkdecrypt_failed 67108951\n"
                                                    "[GNUPG:] DECRYPTION_FAILED\n"
                                                    "[GNUPG:] END_DECRYPTION\n"));
    EXPECT_EQ(gpg_err_code(pgp::decrypt_error(s)), GPG_ERR_BAD_PIN);
}

TEST(PgpDecryptStatus, CancelAndOtherUnwrapErrors) {
    auto s =
        pgp::parse_decrypt_status(lines_of(k_head + "[GNUPG:] ERROR pkdecrypt_failed 83886179\n"
                                                    "[GNUPG:] DECRYPTION_FAILED\n"));
    EXPECT_EQ(gpg_err_code(pgp::decrypt_error(s)), GPG_ERR_CANCELED);  // from pinentry
    s = pgp::parse_decrypt_status(lines_of(k_head + "[GNUPG:] ERROR pkdecrypt_failed 67108894\n"
                                                    "[GNUPG:] DECRYPTION_FAILED\n"));
    EXPECT_EQ(gpg_err_code(pgp::decrypt_error(s)), GPG_ERR_DECRYPT_FAILED);  // 30: not the token
}

TEST(PgpDecryptStatus, NoSecretKey) {
    const auto s =
        pgp::parse_decrypt_status(lines_of("[GNUPG:] ENC_TO 0123456789ABCDEF 1 0\n"
                                           "[GNUPG:] NO_SECKEY 0123456789ABCDEF\n"
                                           "[GNUPG:] BEGIN_DECRYPTION\n"
                                           "[GNUPG:] DECRYPTION_FAILED\n"
                                           "[GNUPG:] END_DECRYPTION\n"));
    EXPECT_EQ(gpg_err_code(pgp::decrypt_error(s)), GPG_ERR_NO_SECKEY);
}

TEST(PgpDecryptStatus, BadMdcFails) {
    const auto s = pgp::parse_decrypt_status(lines_of(k_head + "[GNUPG:] DECRYPTION_INFO 2 9 0\n"
                                                               "[GNUPG:] BADMDC\n"
                                                               "[GNUPG:] END_DECRYPTION\n"));
    EXPECT_EQ(gpg_err_code(pgp::decrypt_error(s)), GPG_ERR_DECRYPT_FAILED);
}

TEST(PgpDecryptStatus, NoMdcIsNotIntegrityProtected) {
    auto s = pgp::parse_decrypt_status(lines_of(k_head + "[GNUPG:] DECRYPTION_INFO 0 2\n"
                                                         "[GNUPG:] DECRYPTION_OKAY\n"));
    EXPECT_TRUE(s.no_integrity);
    EXPECT_FALSE(s.integrity);
    EXPECT_EQ(s.cipher, "3DES.PGPCFB");
    s = pgp::parse_decrypt_status(lines_of(k_head + "[GNUPG:] DECRYPTION_INFO 2 7\n"
                                                    "[GNUPG:] ERROR nomdc_with_legacy_cipher 185\n"
                                                    "[GNUPG:] DECRYPTION_OKAY\n"));
    EXPECT_TRUE(s.no_integrity);
    EXPECT_FALSE(s.integrity);
    // AEAD (RFC 4880bis OCB) is integrity protected without an MDC.
    s = pgp::parse_decrypt_status(lines_of(k_head + "[GNUPG:] DECRYPTION_INFO 0 9 2\n"
                                                    "[GNUPG:] DECRYPTION_OKAY\n"));
    EXPECT_TRUE(s.integrity);
    EXPECT_EQ(s.cipher, "AES256.OCB");
}

TEST(PgpDecryptStatus, NothingSaidIsNoData) {
    const auto s = pgp::parse_decrypt_status({});
    EXPECT_EQ(gpg_err_code(pgp::decrypt_error(s)), GPG_ERR_NO_DATA);
    EXPECT_FALSE(s.integrity);
}

// The plaintext stream: what reaches the output, in pieces of any size.
struct Streamed {
    std::string out;
    bool streamed = false;
    std::string spooled;
};

Streamed stream(const std::string& plaintext, std::size_t piece, bool allow = true) {
    Streamed r;
    pgp::PlaintextStream s(
        [&](std::string_view bytes) -> base::Status {
            r.out.append(bytes);
            return {};
        },
        [&](std::string_view) -> std::optional<std::string> {
            if (!allow) return std::nullopt;
            return std::string("OUTER\r\n");
        });
    for (std::size_t at = 0; at < plaintext.size(); at += piece) {
        EXPECT_TRUE(s.write(std::string_view(plaintext).substr(at, piece)));
    }
    EXPECT_TRUE(s.finish());
    r.streamed = s.streamed();
    if (!r.streamed && s.spool() != nullptr) {
        char buf[4096];
        ssize_t n;
        off_t off = 0;
        while ((n = ::pread(s.spool()->fd(), buf, sizeof buf, off)) > 0) {
            r.spooled.append(buf, static_cast<std::size_t>(n));
            off += n;
        }
    }
    return r;
}

TEST(PgpPlaintextStream, StreamsAnEntityWithItsLineEndsMadeCrlf) {
    const std::string entity = "Content-Type: text/plain\n\nline one\r\nline two\nend";
    for (std::size_t piece : {1u, 3u, 7u, 4096u}) {
        const auto r = stream(entity, piece);
        EXPECT_TRUE(r.streamed);
        EXPECT_EQ(r.out, "OUTER\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\nend")
            << piece;
    }
}

TEST(PgpPlaintextStream, SpoolsWhatIsNotStreamed) {
    const std::string entity = "Content-Type: multipart/signed\r\n\r\nbody\r\n";
    const auto r = stream(entity, 5, false);
    EXPECT_FALSE(r.streamed);
    EXPECT_TRUE(r.out.empty());
    EXPECT_EQ(r.spooled, entity);
    // No header block end at all (a short entity): spooled whole, the parsing path decides.
    const auto h = stream("Content-Type: text/plain", 4);
    EXPECT_FALSE(h.streamed);
    EXPECT_EQ(h.spooled, "Content-Type: text/plain");
}

TEST(PgpPlaintextStream, LongLinesAreRefused) {
    pgp::PlaintextStream s([](std::string_view) -> base::Status { return {}; },
                           [](std::string_view) -> std::optional<std::string> { return ""; });
    ASSERT_TRUE(s.write("Content-Type: text/plain\r\n\r\n"));
    const std::string line(1 << 16, 'x');
    bool ok = true;
    for (int i = 0; i < 20 && ok; ++i) ok = s.write(line);
    EXPECT_FALSE(ok);
    EXPECT_FALSE(s.status());
    EXPECT_EQ(s.status().error().code, base::ErrorCode::BadInput);
}

TEST(PgpRangeFeed, GpgGetsExactlyTheRange) {
    // gpg --print-md hashes what it reads on its standard input: the SHA-256 of exactly the
    // range, neither the bytes before it nor a byte after it, in one block and in several.
    TempDir dir;
    const std::string home = (dir.path() / "home").string();
    ASSERT_EQ(::mkdir(home.c_str(), 0700), 0);
    auto ctx = pgp::Context::open(home);
    ASSERT_TRUE(ctx) << ctx.error().message();
    std::string bytes(3 << 20, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 3);
    const std::string file = (dir.path() / "data").string();
    {
        std::FILE* f = std::fopen(file.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
        std::fclose(f);
    }
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::lseek(fd, 5, SEEK_SET), 5);
    for (const std::uint64_t length : {std::uint64_t{100}, std::uint64_t{(2u << 20) + 7}}) {
        const std::uint64_t offset = 12345;
        std::string out;
        pgp::GpgRun run;
        run.arguments = {"--print-md", "SHA256"};
        run.stdin_fd = pgp::k_gpg_stdin_pipe;
        run.output = [&](std::string_view b) {
            out.append(b);
            return true;
        };
        auto gpg = pgp::GpgProcess::start(*ctx, std::move(run));
        ASSERT_TRUE(gpg) << gpg.error().message();
        auto fed = pgp::feed_file_range(*gpg, fd, offset, length);
        ASSERT_TRUE(fed) << fed.error().message();
        EXPECT_TRUE(*fed);
        auto result = gpg->finish();
        ASSERT_TRUE(result) << result.error().message();
        EXPECT_TRUE(result->exited_ok);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        ASSERT_EQ(EVP_Digest(bytes.data() + offset, length, md, &md_len, EVP_sha256(), nullptr), 1);
        std::string printed;
        for (const char c : out) {
            if (std::isxdigit(static_cast<unsigned char>(c))) {
                printed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
        }
        EXPECT_EQ(printed, base::to_hex({md, md_len})) << out;
    }
    // A range past the file's end is the file's error, not gpg's.
    {
        pgp::GpgRun run;
        run.arguments = {"--print-md", "SHA256"};
        run.stdin_fd = pgp::k_gpg_stdin_pipe;
        auto gpg = pgp::GpgProcess::start(*ctx, std::move(run));
        ASSERT_TRUE(gpg);
        EXPECT_FALSE(pgp::feed_file_range(*gpg, fd, bytes.size() - 10, 20));
    }
    EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 5);  // the descriptor's own offset is left alone
    ::close(fd);
}

}  // namespace
}  // namespace keyfence::test
