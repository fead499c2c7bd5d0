// mail/pgp without daemons: the once-only passphrase answerer, the GnuPG home Keyfence writes,
// parsing the agent's key list and user IDs, and finding what to verify or decrypt in a
// message.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "mail/pgp/bind.hpp"
#include "mail/pgp/card_keygen.hpp"
#include "mail/pgp/decrypt.hpp"
#include "mail/pgp/homedir.hpp"
#include "mail/pgp/packet_bounds.hpp"
#include "mail/pgp/passphrase.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/signed_entity.hpp"
#include "mail/pgp/verify.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace pgp = mail::pgp;

base::Pin pin_of(const std::string& text) {
    base::Pin pin;
    for (char c : text) pin.push_back(static_cast<std::uint8_t>(c));
    return pin;
}

struct Callback {
    gpgme_passphrase_cb_t fn = nullptr;
    void* hook = nullptr;
    gpgme_error_t call(int fd, int prev_was_bad = 0) {
        return fn(hook, "KEYID Token Tester", "info", prev_was_bad, fd);
    }
};

Callback installed(pgp::PassphraseAnswerer& answerer, gpgme_ctx_t ctx) {
    answerer.install(ctx);
    Callback cb;
    gpgme_get_passphrase_cb(ctx, &cb.fn, &cb.hook);
    EXPECT_EQ(gpgme_get_pinentry_mode(ctx), GPGME_PINENTRY_MODE_LOOPBACK);
    return cb;
}

std::string drain(int fd) {
    char buf[64];
    const ssize_t n = read(fd, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

class PassphraseTest : public ::testing::Test {
  protected:
    void SetUp() override {
        gpgme_check_version(nullptr);
        ASSERT_EQ(gpgme_new(&m_ctx), 0);
        ASSERT_EQ(pipe(m_fds), 0);
    }
    void TearDown() override {
        gpgme_release(m_ctx);
        close(m_fds[0]);
        close(m_fds[1]);
    }
    gpgme_ctx_t m_ctx = nullptr;
    int m_fds[2] = {-1, -1};
};

TEST_F(PassphraseTest, AnswersOnceAndCancelsARepeatedRequest) {
    int asked = 0;
    pgp::PassphraseAnswerer answerer([&](const pgp::PassphraseQuestion&) {
        ++asked;
        return base::Result<base::Pin>(pin_of("123456"));
    });
    auto cb = installed(answerer, m_ctx);
    EXPECT_EQ(cb.call(m_fds[1]), 0);
    EXPECT_EQ(drain(m_fds[0]), "123456\n");
    // gnupg-pkcs11-scd asks again after a wrong PIN without setting prev_was_bad.
    EXPECT_EQ(gpg_err_code(cb.call(m_fds[1])), GPG_ERR_CANCELED);
    EXPECT_EQ(asked, 1);
    EXPECT_EQ(answerer.requests(), 2);
    EXPECT_TRUE(answerer.repeated());
}

TEST_F(PassphraseTest, PreviousBadIsNeverAnswered) {
    int asked = 0;
    pgp::PassphraseAnswerer answerer([&](const pgp::PassphraseQuestion&) {
        ++asked;
        return base::Result<base::Pin>(pin_of("123456"));
    });
    auto cb = installed(answerer, m_ctx);
    EXPECT_EQ(gpg_err_code(cb.call(m_fds[1], 1)), GPG_ERR_CANCELED);
    EXPECT_EQ(asked, 0);
}

TEST_F(PassphraseTest, CancelledPinSourceCancelsGpgAndKeepsTheError) {
    pgp::PassphraseAnswerer answerer([](const pgp::PassphraseQuestion&) {
        return base::Result<base::Pin>(
            base::Error(base::ErrorCode::LastTryRefused, "one try left"));
    });
    auto cb = installed(answerer, m_ctx);
    EXPECT_EQ(gpg_err_code(cb.call(m_fds[1])), GPG_ERR_CANCELED);
    ASSERT_TRUE(answerer.source_error().has_value());
    EXPECT_EQ(answerer.source_error()->code, base::ErrorCode::LastTryRefused);
}

TEST(PgpHome, SetupWritesNoCachingLoopbackAndTheModules) {
    TempDir dir;
    const auto home = (dir.path() / "home").string();
    auto made = pgp::setup_home({.homedir = home,
                                 .backend = pgp::Backend::Pkcs11,
                                 .pkcs11_modules = {"/usr/lib/softhsm/libsofthsm2.so"}});
    ASSERT_TRUE(made) << made.error().message();
    const std::string agent = read_file(std::filesystem::path(home) / "gpg-agent.conf");
    for (const char* line : {"allow-loopback-pinentry\n", "default-cache-ttl 0\n",
                             "max-cache-ttl 0\n", "scdaemon-program /usr/bin/gnupg-pkcs11-scd\n"}) {
        EXPECT_NE(agent.find(line), std::string::npos) << line;
    }
    const std::string scd = read_file(std::filesystem::path(home) / "gnupg-pkcs11-scd.conf");
    EXPECT_NE(scd.find("provider-p1-library /usr/lib/softhsm/libsofthsm2.so\n"), std::string::npos);
    struct stat st {};
    ASSERT_EQ(stat(home.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    auto card = pgp::setup_home({.homedir = home, .backend = pgp::Backend::Card});
    ASSERT_TRUE(card);
    const std::string scdaemon = read_file(std::filesystem::path(home) / "scdaemon.conf");
    EXPECT_NE(scdaemon.find("pcsc-shared\n"), std::string::npos);
    EXPECT_EQ(read_file(std::filesystem::path(home) / "gpg-agent.conf").find("scdaemon-program"),
              std::string::npos);
    // Without a module, gnupg-pkcs11-scd would load nothing.
    EXPECT_FALSE(pgp::setup_home({.homedir = home, .backend = pgp::Backend::Pkcs11}));
}

TEST(PgpHome, DefaultIsKeyfencesOwnNeverGnupgsHome) {
    const char* saved = std::getenv("XDG_DATA_HOME");
    const std::string saved_value = saved != nullptr ? saved : "";
    setenv("XDG_DATA_HOME", "/data/x", 1);
    EXPECT_EQ(pgp::default_homedir(), "/data/x/keyfence/gnupg");
    unsetenv("XDG_DATA_HOME");
    EXPECT_EQ(pgp::default_homedir(),
              std::string(std::getenv("HOME")) + "/.local/share/keyfence/gnupg");
    if (saved != nullptr) setenv("XDG_DATA_HOME", saved_value.c_str(), 1);
}

TEST(PgpBind, ParsesTheAgentsKeyListAndUserIds) {
    pgp::LearnedKey key;
    ASSERT_TRUE(pgp::parse_keypairinfo(
        "S KEYPAIRINFO 2616079D70C1533C8647A3E8C6A126B5E4299083 "
        "SoftHSM\\x20project/SoftHSM\\x20v2/c502899dbb96e456/test\\x2Dtoken/01",
        key));
    EXPECT_EQ(key.keygrip, "2616079D70C1533C8647A3E8C6A126B5E4299083");
    const std::vector<std::string> parts = {"SoftHSM project", "SoftHSM v2", "c502899dbb96e456",
                                            "test-token", "01"};
    EXPECT_EQ(key.id_parts, parts);
    EXPECT_FALSE(pgp::parse_keypairinfo("S SERIALNO D2760001", key));

    auto uid = pgp::split_uid("Alex Rivera <alex@example.org>");
    ASSERT_TRUE(uid);
    EXPECT_EQ(uid->first, "Alex Rivera");
    EXPECT_EQ(uid->second, "alex@example.org");
    EXPECT_FALSE(pgp::split_uid("alex@example.org"));
    EXPECT_FALSE(pgp::split_uid("Evil\nKey-Type: x <a@b>"));
}

constexpr const char* k_encrypted =
    "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
    "boundary=\"B\"\r\n\r\n--B\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: "
    "1\r\n\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP "
    "MESSAGE-----\r\n\r\nhAIAAA==\r\n-----END PGP MESSAGE-----\r\n\r\n--B--\r\n";

TEST(PgpMessages, FindsEncryptedContentAndSaysWhenItIsMixed) {
    const std::string head = "From: <bob@example.org>\r\nSubject: s\r\n";
    auto whole = pgp::prepare_decryption(head + k_encrypted);
    ASSERT_TRUE(whole) << whole.error().message();
    EXPECT_EQ(whole->format, "multipart/encrypted");
    EXPECT_FALSE(whole->mixed);
    EXPECT_NE(whole->ciphertext.find("hAIAAA=="), std::string::npos);

    auto mixed = pgp::prepare_decryption(
        head + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\n" + k_encrypted +
        "\r\n--M\r\nContent-Type: text/html\r\n\r\n<img src=\"http://x/?\r\n--M--\r\n");
    ASSERT_TRUE(mixed) << mixed.error().message();
    EXPECT_TRUE(mixed->mixed);

    auto inline_block = pgp::prepare_decryption(
        head +
        "Content-Type: text/plain\r\n\r\nhi\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhAIAAA==\r\n"
        "-----END PGP MESSAGE-----\r\n");
    ASSERT_TRUE(inline_block);
    EXPECT_EQ(inline_block->format, "inline");
    EXPECT_TRUE(inline_block->mixed);  // "hi" before the block is not encrypted

    auto none = pgp::prepare_decryption(head + "Content-Type: text/plain\r\n\r\nplain\r\n");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, base::ErrorCode::BadInput);
}

TEST(PgpMessages, ASignedPartInsideAnUnsignedMessageIsNotASignedMessage) {
    auto body = pgp::prepare_verification(
        "From: <a@example.org>\r\nContent-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\n"
        "Content-Type: text/plain\r\n\r\nadded by anyone\r\n--M\r\nContent-Type: "
        "multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"S\"\r\n\r\n--S\r\n"
        "Content-Type: text/plain\r\n\r\nsigned\r\n--S\r\nContent-Type: "
        "application/pgp-signature\r\n\r\nsig\r\n--S--\r\n\r\n--M--\r\n");
    ASSERT_TRUE(body) << body.error().message();
    EXPECT_FALSE(body->coverage.whole_body_signed());
    ASSERT_EQ(body->inputs.size(), 1u);
    EXPECT_EQ(body->inputs.front().entity.path, "2");
    EXPECT_EQ(body->inputs.front().content, "Content-Type: text/plain\r\n\r\nsigned");
    EXPECT_EQ(pgp::micalg_for(GPGME_MD_SHA256), "pgp-sha256");
}

}  // namespace
}  // namespace keyfence::test

// --- the OpenPGP bounds scan (mail/pgp/packet_bounds.hpp, docs/limits.md) ---------------------
namespace keyfence::test {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> b) {
    std::vector<std::uint8_t> v;
    for (int x : b) v.push_back(static_cast<std::uint8_t>(x));
    return v;
}

// An old-format packet (RFC 4880 §4.2.1) of `tag` with a one-octet length and `n` body bytes.
std::vector<std::uint8_t> old_packet(int tag, std::size_t n) {
    // Sized first, then the header set: GCC 12 at -O3 reports a false array-bounds error for
    // resize() after a two-element initializer list (-Werror in Release builds).
    std::vector<std::uint8_t> v(2 + n, 0x42);
    v[0] = static_cast<std::uint8_t>(0x80 | (tag << 2));
    v[1] = static_cast<std::uint8_t>(n);
    return v;
}

std::string radix64(const std::vector<std::uint8_t>& data) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < data.size(); i += 3) {
        std::uint32_t v = data[i] << 16;
        if (i + 1 < data.size()) v |= data[i + 1] << 8;
        if (i + 2 < data.size()) v |= data[i + 2];
        out += k[(v >> 18) & 63];
        out += k[(v >> 12) & 63];
        out += i + 1 < data.size() ? k[(v >> 6) & 63] : '=';
        out += i + 2 < data.size() ? k[v & 63] : '=';
        if (out.size() % 65 == 64) out += '\n';
    }
    return out;
}

std::string armored(const std::vector<std::uint8_t>& data, const std::string& headers = "") {
    return "-----BEGIN PGP SIGNATURE-----\n" + headers + "\n" + radix64(data) +
           "\n=AAAA\n-----END PGP SIGNATURE-----\n";
}

base::Status scan(const std::vector<std::uint8_t>& data,
                  const pgp::PgpLimits& limits = pgp::k_pgp_limits) {
    pgp::PacketScanner s(limits);
    KEYFENCE_TRY(s.feed(data));
    return s.finish();
}

TEST(PgpBounds, WholePacketsPassInAnyPieces) {
    auto data = old_packet(2, 100);
    const auto more = old_packet(11, 3);
    data.insert(data.end(), more.begin(), more.end());
    EXPECT_TRUE(scan(data));
    pgp::PacketScanner s;
    for (auto b : data) ASSERT_TRUE(s.feed(std::span(&b, 1)));
    EXPECT_TRUE(s.finish());
    EXPECT_EQ(s.packets(), 2u);
    // The same in armor, with text around it and fed a byte at a time.
    const std::string text = "text before\r\n" + armored(data, "Version: x\n") + "after\n";
    EXPECT_TRUE(pgp::check_armored_bounds(text));
    pgp::ArmorScanner a;
    for (char c : text) ASSERT_TRUE(a.feed(std::string_view(&c, 1)));
    EXPECT_TRUE(a.finish());
}

TEST(PgpBounds, ALengthBeyondTheDataIsRefused) {
    auto data = old_packet(2, 100);
    data.resize(50);
    auto r = scan(data);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, base::ErrorCode::BadInput);
    EXPECT_NE(r.error().context.find("declares 100 bytes, more than the data holds"),
              std::string::npos)
        << r.error().context;
    // A five-octet new-format length (RFC 4880 §4.2.2.3) of almost 4 GiB, in armor.
    auto r2 = pgp::check_armored_bounds(armored(bytes({0xc2, 0xff, 0xff, 0xff, 0xff, 0xf0, 1})));
    ASSERT_FALSE(r2);
    EXPECT_NE(r2.error().context.find("declares 4294967280 bytes"), std::string::npos);
}

TEST(PgpBounds, MalformedHeadersAreRefused) {
    EXPECT_FALSE(scan(bytes({0x02, 0x01, 0x00})));  // bit 7 clear
    EXPECT_FALSE(scan(bytes({0xc0, 0x01, 0x00})));  // reserved tag 0
    // A partial body length on a signature packet (tag 2): only data packets may have one.
    auto partial = bytes({0xc2, 0xe9});
    partial.resize(2 + 512, 0);
    partial.push_back(0x00);
    auto r = scan(partial);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().context.find("partial body length on a packet of type 2"),
              std::string::npos);
    // A first partial chunk under 512 bytes (RFC 4880 §4.2.2.4).
    auto small = bytes({0xcb, 0xe1, 0, 0, 0x00});
    EXPECT_FALSE(scan(small));
    // A literal packet (tag 11) in a 512-byte chunk and a 1-byte end: fine.
    auto good = bytes({0xcb, 0xe9});
    good.resize(2 + 512, 0);
    good.insert(good.end(), {0x01, 0x00});
    EXPECT_TRUE(scan(good));
}

TEST(PgpBounds, CountsAndLinesAreBounded) {
    pgp::PgpLimits limits;
    limits.max_packets = 3;
    limits.max_partial_chunks = 2;
    std::vector<std::uint8_t> four;
    for (int i = 0; i < 4; ++i) {
        const auto p = old_packet(2, 1);
        four.insert(four.end(), p.begin(), p.end());
    }
    auto r = scan(four, limits);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().context.find("limit on packets in one message (4, at most 3)"),
              std::string::npos)
        << r.error().context;
    auto chunks = bytes({0xcb, 0xe9});
    chunks.resize(2 + 512, 0);
    for (int i = 0; i < 2; ++i) chunks.insert(chunks.end(), {0xe0, 0x00});  // 1-byte chunks
    chunks.push_back(0x00);
    auto c = scan(chunks, limits);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().context.find("partial body length chunks"), std::string::npos);

    const auto one = old_packet(2, 1);
    auto line = pgp::check_armored_bounds("-----BEGIN PGP MESSAGE-----\n\n" +
                                          std::string(5000, 'A') + "\n-----END PGP MESSAGE-----\n");
    ASSERT_FALSE(line);
    EXPECT_NE(line.error().context.find("armor line (5000, at most 4096)"), std::string::npos)
        << line.error().context;
    std::string headers;
    for (int i = 0; i < 65; ++i) headers += "Comment: " + std::to_string(i) + "\n";
    auto h = pgp::check_armored_bounds(armored(one, headers));
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().context.find("armor header lines (65, at most 64)"), std::string::npos);
    // Outside an armor block, long lines are the MIME limits' business.
    EXPECT_TRUE(pgp::check_armored_bounds(std::string(100000, 'x') + "\n" + armored(one)));
}

}  // namespace
}  // namespace keyfence::test

namespace keyfence::test {
namespace {
// stop_daemons() must not trust gpgconf alone: a daemon of the home that gpgconf did not stop
// (an agent hung on "scd killscd", seen under load) is terminated. Here stand-ins named
// gnupg-pkcs11-scd (bash under that name), which no gpgconf request reaches.
pid_t stand_in(const std::string& homedir) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl("/bin/bash", "gnupg-pkcs11-scd", "-c",
                "sleep 29 </dev/null >/dev/null 2>&1; :", "gnupg-pkcs11-scd", "--homedir",
                homedir.c_str(), nullptr);
        ::_exit(127);
    }
    return pid;
}

TEST(PgpDaemons, StopDaemonsEndsWhatGpgconfLeftRunningForTheHome) {
    TempDir dir;
    const auto home = dir.path() / "gnupg";
    std::filesystem::create_directories(home);
    const pid_t mine = stand_in(home.string());
    const pid_t other = stand_in((dir.path() / "elsewhere").string());
    ::usleep(300 * 1000);
    ASSERT_TRUE(mail::pgp::stop_daemons(home.string()));
    int status = 0;
    EXPECT_EQ(::waitpid(mine, &status, 0), mine);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the home's daemon was not ended";
    EXPECT_EQ(::waitpid(other, &status, WNOHANG), 0) << "another home's daemon was ended";
    ::kill(other, SIGKILL);
    ::waitpid(other, &status, 0);
}
}  // namespace
TEST(CardKeygenUserId, FollowsGpgsDialogueRules) {
    using mail::pgp::check_keygen_user_id;
    EXPECT_TRUE(check_keygen_user_id("Card Tester", "card@example.org"));
    EXPECT_TRUE(check_keygen_user_id("", "card@example.org"));  // gpg allows an empty name
    EXPECT_TRUE(check_keygen_user_id("  Alice  ", "a.b+tag@example.org"));
    EXPECT_TRUE(check_keygen_user_id("Zoë Q", "zoe@example.org"));  // 6 bytes
    EXPECT_TRUE(check_keygen_user_id("Tester", "t@x"));
    const auto refused = [](const std::string& name, const std::string& address) {
        auto r = check_keygen_user_id(name, address);
        EXPECT_FALSE(r) << name << " <" << address << ">";
        if (!r) {
            EXPECT_EQ(r.error().code, base::ErrorCode::Usage);
        }
        return r ? std::string() : r.error().message();
    };
    EXPECT_NE(refused("T", "t@example.org").find("at least 5"), std::string::npos);
    EXPECT_NE(refused("  Tim ", "t@example.org").find("at least 5"), std::string::npos);
    EXPECT_NE(refused("Zoë", "z@example.org").find("at least 5"), std::string::npos);  // 4 bytes
    EXPECT_NE(refused("1Tester", "t@example.org").find("digit"), std::string::npos);
    refused("Tester", "");
    refused("Tester", "t@@example.org");
    refused("Tester", "@example.org");
    refused("Tester", "t@");
    refused("Tester", "t@example.org.");
    refused("Tester", "t..u@example.org");
    refused("Tester", "t u@example.org");
    refused("Tester", "t@exa+mple.org");
}

TEST(CardKeygenDialogue, AnswersEachQuestionOnceAndARepeatStopsIt) {
    mail::pgp::CardKeygen request{"Tester", "t@example.org", false, nullptr};
    mail::pgp::KeygenDialogue dialogue(request);
    EXPECT_EQ(dialogue.answer("cardedit.prompt"), "admin");
    EXPECT_EQ(dialogue.answer("cardedit.prompt"), "generate");
    EXPECT_EQ(dialogue.answer("cardedit.genkeys.backup_enc"), "n");
    EXPECT_EQ(dialogue.answer("keygen.valid"), "0");
    EXPECT_EQ(dialogue.answer("keygen.name"), "Tester");
    EXPECT_TRUE(dialogue.why().empty());
    // gpg refused the name and asks again: no second answer, no loop.
    EXPECT_EQ(dialogue.answer("keygen.name"), std::nullopt);
    EXPECT_NE(dialogue.why().find("keygen.name"), std::string::npos);
    EXPECT_EQ(dialogue.error().code, base::ErrorCode::Usage);
    EXPECT_EQ(dialogue.answer("keygen.email"), std::nullopt);  // stopped for good

    mail::pgp::KeygenDialogue other(request);
    EXPECT_EQ(other.answer("keygen.something_new"), std::nullopt);
    EXPECT_EQ(other.error().code, base::ErrorCode::Cancelled);
    mail::pgp::KeygenDialogue hidden(request);
    EXPECT_EQ(hidden.answer("GET_HIDDEN passphrase.enter"), std::nullopt);
    EXPECT_NE(hidden.why().find("unexpected"), std::string::npos);
}

}  // namespace keyfence::test
