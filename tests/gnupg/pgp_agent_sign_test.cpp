// The one-pass sign's own signature packet and gpg-agent signing (mail/pgp/signature_packet.hpp,
// mail/pgp/agent_sign.hpp), judged by gpg: in a GnuPG home of the test's own with a software
// RSA, NIST P-256 or Ed25519 key (a test key: the agent protects it with a passphrase, asked by
// loopback INQUIRE PASSPHRASE as a token's PIN is), the packet Keyfence makes is byte for byte
// the one gpg makes, and what the agent signs over Keyfence's digest, gpg verifies. The check
// of ECDSA and EdDSA signatures refuses one over another digest.

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/hex.hpp"
#include "mail/pgp/agent_sign.hpp"
#include "mail/pgp/signature_packet.hpp"
#include "mail/smime/stream_io.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace pgp = mail::pgp;
namespace fs = std::filesystem;

constexpr const char* k_passphrase = "correct horse";

std::vector<std::uint8_t> sha256(const std::string& content, const std::string& trailer) {
    mail::smime::Hasher hash(EVP_sha256());
    hash.update(content);
    hash.update(trailer);
    return hash.final();
}

base::Result<base::Pin> pin_of(const std::string& text) {
    base::Pin pin;
    for (char c : text) pin.push_back(static_cast<std::uint8_t>(c));
    return pin;
}

// One algorithm of the test key: gpg's name, OpenPGP's number.
struct Algorithm {
    const char* gpg_name;
    std::uint8_t openpgp;
};

void PrintTo(const Algorithm& algorithm, std::ostream* out) {
    *out << algorithm.gpg_name;
}

class PgpAgentSign : public ::testing::TestWithParam<Algorithm> {
  protected:
    void SetUp() override {
        write_file(home() / "gpg-agent.conf", "allow-loopback-pinentry\n");
        write_file(m_dir.path() / "passphrase", k_passphrase);
        ASSERT_EQ(
            gpg({"--passphrase-file", (m_dir.path() / "passphrase").string(), "--quick-gen-key",
                 "Test <test@example.org>", GetParam().gpg_name, "sign", "never"})
                .exit_code,
            0);
        const auto listing = gpg({"--with-colons", "--with-keygrip", "-K"});
        std::istringstream lines(listing.out);
        for (std::string line; std::getline(lines, line);) {
            auto field = [&](int n) {
                std::size_t at = 0;
                for (int i = 0; i < n; ++i) at = line.find(':', at) + 1;
                return line.substr(at, line.find(':', at) - at);
            };
            if (line.rfind("fpr:", 0) == 0 && m_fingerprint.empty()) m_fingerprint = field(9);
            if (line.rfind("grp:", 0) == 0 && m_keygrip.empty()) m_keygrip = field(9);
        }
        ASSERT_EQ(m_fingerprint.size(), 40u) << listing.out;
        ASSERT_EQ(m_keygrip.size(), 40u) << listing.out;
        write_file(content(), "Content-Type: text/plain\r\n\r\nSigned by the agent.\r\n");
    }
    void TearDown() override { run({"gpgconf", "--homedir", home().string(), "--kill", "all"}); }

    fs::path home() const { return m_dir.path(); }
    fs::path content() const { return m_dir.path() / "content"; }
    ProcessResult gpg(std::vector<std::string> args) const {
        std::vector<std::string> argv{"gpg",     "--homedir",       home().string(),
                                      "--batch", "--pinentry-mode", "loopback"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv);
    }
    pgp::SignatureParams params(std::uint32_t created) const {
        auto issuer = pgp::fingerprint_bytes(m_fingerprint);
        EXPECT_TRUE(issuer);
        return pgp::SignatureParams{GetParam().openpgp, 8, created, *issuer};
    }

    TempDir m_dir;
    std::string m_fingerprint;
    std::string m_keygrip;
};

TEST_P(PgpAgentSign, ThePacketIsByteForByteTheOneGpgMakes) {
    ASSERT_EQ(
        gpg({"--passphrase-file", (m_dir.path() / "passphrase").string(), "--digest-algo", "SHA256",
             "--detach-sign", "-o", (m_dir.path() / "gpg.sig").string(), content().string()})
            .exit_code,
        0);
    const std::string made = read_file(m_dir.path() / "gpg.sig");
    // gpg's layout: an old-format header (tag 2, one or two length octets), version 4, class
    // 0, the key's algorithm, SHA-256, 29 octets of hashed subpackets (issuer fingerprint, then
    // the creation time).
    ASSERT_GT(made.size(), 40u);
    const auto ctb = static_cast<unsigned char>(made[0]);
    ASSERT_TRUE(ctb == 0x88 || ctb == 0x89) << int(ctb);
    const std::size_t header = ctb == 0x88 ? 2 : 3;
    ASSERT_EQ(made.substr(header, 6), std::string("\x04\x00", 2) +
                                          static_cast<char>(GetParam().openpgp) +
                                          std::string("\x08\x00\x1d", 3));
    const auto* created_at = reinterpret_cast<const unsigned char*>(made.data()) + header + 6 + 25;
    const std::uint32_t created = std::uint32_t{created_at[0]} << 24 |
                                  std::uint32_t{created_at[1]} << 16 |
                                  std::uint32_t{created_at[2]} << 8 | created_at[3];
    const auto p = params(created);
    const auto digest = sha256(read_file(content()), pgp::hash_trailer(p));
    // Everything before the MPIs is Keyfence's; the MPIs are the values only the key makes.
    const std::size_t mpi_at = header + 6 + 29 + 2 + 10 + 2;
    const std::string ours = pgp::signature_packet(p, digest, {made.substr(mpi_at)});
    EXPECT_EQ(ours, made) << "the digest's first octets (gpg's, ours): "
                          << int(static_cast<unsigned char>(made[mpi_at - 2])) << " "
                          << int(digest[0]);
}

TEST_P(PgpAgentSign, WhatTheAgentSignsOverKeyfencesDigestGpgVerifies) {
    int asked = 0;
    pgp::PassphraseAnswerer answerer([&](const pgp::PassphraseQuestion&) {
        ++asked;
        return pin_of(k_passphrase);
    });
    const auto p = params(static_cast<std::uint32_t>(std::time(nullptr)));
    const auto digest = sha256(read_file(content()), pgp::hash_trailer(p));
    auto mpis =
        pgp::agent_sign_digest(home().string(), m_keygrip, GetParam().openpgp, 8, digest, answerer);
    ASSERT_TRUE(mpis) << mpis.error().message();
    EXPECT_EQ(asked, 1);
    EXPECT_EQ(mpis->size(), GetParam().openpgp == pgp::k_pk_rsa ? 1u : 2u);
    const std::string armored = pgp::armored_signature(pgp::signature_packet(p, digest, *mpis));
    EXPECT_EQ(armored.rfind("-----BEGIN PGP SIGNATURE-----\n\n", 0), 0u);
    write_file(m_dir.path() / "sig.asc", armored);
    const auto verified = gpg(
        {"--status-fd", "1", "--verify", (m_dir.path() / "sig.asc").string(), content().string()});
    EXPECT_EQ(verified.exit_code, 0) << verified.err;
    EXPECT_NE(verified.out.find("[GNUPG:] VALIDSIG " + m_fingerprint), std::string::npos)
        << verified.out;

    // One changed byte of content, and gpg refuses the same signature.
    write_file(content(), "Content-Type: text/plain\r\n\r\nSigned by the agenT.\r\n");
    const auto tampered = gpg(
        {"--status-fd", "1", "--verify", (m_dir.path() / "sig.asc").string(), content().string()});
    EXPECT_NE(tampered.exit_code, 0);
    EXPECT_NE(tampered.out.find("[GNUPG:] BADSIG"), std::string::npos) << tampered.out;
}

TEST_P(PgpAgentSign, ARefusedPinSignsNothingAndAWrongOneIsAnsweredOnce) {
    const auto p = params(static_cast<std::uint32_t>(std::time(nullptr)));
    const auto digest = sha256(read_file(content()), pgp::hash_trailer(p));
    pgp::PassphraseAnswerer refusing([](const pgp::PassphraseQuestion&) -> base::Result<base::Pin> {
        return base::Error(base::ErrorCode::Cancelled, "the user cancelled");
    });
    auto refused =
        pgp::agent_sign_digest(home().string(), m_keygrip, GetParam().openpgp, 8, digest, refusing);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, base::ErrorCode::Cancelled) << refused.error().message();
    ASSERT_TRUE(refusing.source_error());

    int asked = 0;
    pgp::PassphraseAnswerer wrong([&](const pgp::PassphraseQuestion&) {
        ++asked;
        return pin_of("wrong");
    });
    auto failed =
        pgp::agent_sign_digest(home().string(), m_keygrip, GetParam().openpgp, 8, digest, wrong);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, base::ErrorCode::PinIncorrect) << failed.error().message();
    // One entry, one try: the user is asked once, whatever the agent asks after it.
    EXPECT_EQ(asked, 1);
    EXPECT_GE(wrong.requests(), 1);
}

INSTANTIATE_TEST_SUITE_P(Keys, PgpAgentSign,
                         ::testing::Values(Algorithm{"rsa2048", pgp::k_pk_rsa},
                                           Algorithm{"nistp256", pgp::k_pk_ecdsa},
                                           Algorithm{"ed25519", pgp::k_pk_eddsa}),
                         [](const auto& key) { return std::string(key.param.gpg_name); });

TEST(PgpSignatureValue, EachAlgorithmGivesItsMpisAndNothingElseDoes) {
    const std::string rsa("(7:sig-val(3:rsa(1:s3:\x00\x01\x02)))", 28);
    auto mpis = pgp::signature_mpis(rsa, pgp::k_pk_rsa);
    ASSERT_TRUE(mpis) << mpis.error().message();
    ASSERT_EQ(mpis->size(), 1u);
    // The leading zero octet is dropped; 0x0102 is a 9-bit integer.
    EXPECT_EQ((*mpis)[0], std::string("\x00\x09\x01\x02", 4));
    const std::string ecdsa("(7:sig-val(5:ecdsa(1:r1:\x01)(1:s1:\x82)))");
    mpis = pgp::signature_mpis(ecdsa, pgp::k_pk_ecdsa);
    ASSERT_TRUE(mpis) << mpis.error().message();
    EXPECT_EQ(*mpis, (std::vector<std::string>{std::string("\x00\x01\x01", 3),
                                               std::string("\x00\x08\x82", 3)}));
    const std::string eddsa("(7:sig-val(5:eddsa(1:r1:\x03)(1:s1:\x04)))");
    EXPECT_TRUE(pgp::signature_mpis(eddsa, pgp::k_pk_eddsa));
    EXPECT_FALSE(pgp::signature_mpis(eddsa, pgp::k_pk_ecdsa));
    EXPECT_FALSE(pgp::signature_mpis(ecdsa, pgp::k_pk_rsa));
    auto dsa = pgp::signature_mpis(ecdsa, 17);
    ASSERT_FALSE(dsa);
    EXPECT_EQ(dsa.error().code, base::ErrorCode::Unsupported);
    for (const std::string& bad :
         {std::string("garbage"), std::string("(7:sig-val(3:rsa(1:s0:)))"),
          std::string("(7:sig-val(3:rsa(1:s2:\x00\x00)))", 27),
          std::string("(4:data(3:rsa(1:s1:\x01)))"), std::string("(7:sig-val(3:rsa(1:s9:\x01)))"),
          std::string("(7:sig-val(5:ecdsa(1:r1:\x01)))"), std::string()}) {
        auto r = pgp::signature_mpis(
            bad, bad.find("ecdsa") != std::string::npos ? pgp::k_pk_ecdsa : pgp::k_pk_rsa);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, base::ErrorCode::ModuleFailure);
        }
    }
}

// The fault defence for ECDSA and EdDSA (gpg-agent checks only RSA): a signature made by
// OpenSSL (fixed vectors: `openssl pkeyutl -sign` over a 32-byte digest with a P-256 key, and
// with `-rawin` and an Ed25519 key), as a token would return it to the agent, passes over its
// digest and fails over any other. Fixed, so that the test draws on no random pool.
TEST(PgpSignatureValue, AnEccSignatureOverAnotherDigestIsWithheld) {
    auto bytes = [](std::string_view hex) {
        const auto b = base::from_hex(hex);
        EXPECT_TRUE(b);
        return b ? *b : std::vector<std::uint8_t>{};
    };
    // Canonical S-expressions, as the agent writes them (READKEY, PKSIGN).
    auto sexp = [](std::string head,
                   const std::vector<std::pair<std::string, std::vector<std::uint8_t>>>& items,
                   std::string tail) {
        for (const auto& [name, value] : items) {
            head += "(" + std::to_string(name.size()) + ":" + name + std::to_string(value.size()) +
                    ":" + std::string(value.begin(), value.end()) + ")";
        }
        return head + tail;
    };
    struct Case {
        std::uint8_t algo;
        std::string curve;
        std::vector<std::uint8_t> q, digest, r, s;
    };
    const std::vector<Case> cases{
        {pgp::k_pk_ecdsa, "NIST P-256",
         bytes("042eec197a55eb95e5841dcabbbea8ad41eede93e829c4cdd8d01218e396a012a0fc39a4747cb7a40"
               "cdcc9e9d3f9b9e88e0f7e23207b489788a0939edc9b37b7db"),
         bytes("6b657966656e63652065636473612074657374206469676573742c2033322042"),
         bytes("55DD132B309CF546A7328EFF85C983F35C03E12DF2FB44AE5B18AE3A424EE308"),
         bytes("64B85D308FEFEEFDCC848C8CB256FD0C5B25106F363CCA33C8B76FFA835DF388")},
        {pgp::k_pk_eddsa, "Ed25519",
         bytes("40aa64c71ddd2dfb32ec2b0fa4aaa8bf19d39c9b081fccef0812e6c66adecf4d90"),
         bytes("6b657966656e63652065646473612074657374206469676573742c2033322042"),
         bytes("6c74b114f5533cae578d9ae4d4a9aa8a362bcdaed30e8c26cd79297ff609de50"),
         bytes("121326ad15a047aae442a6287217869a98321c435453254cc138f47cc844650e")}};
    for (const Case& c : cases) {
        const std::string curve = "(5:curve" + std::to_string(c.curve.size()) + ":" + c.curve + ")";
        const std::string public_key = sexp("(10:public-key(3:ecc" + curve, {{"q", c.q}}, "))");
        const std::string name = c.algo == pgp::k_pk_ecdsa ? "5:ecdsa" : "5:eddsa";
        const std::string sig_val = sexp("(7:sig-val(" + name, {{"r", c.r}, {"s", c.s}}, "))");
        EXPECT_TRUE(pgp::check_ecc_signature(public_key, sig_val, c.algo, c.digest)) << c.curve;
        auto other = c.digest;
        other[5] ^= 1;
        auto withheld = pgp::check_ecc_signature(public_key, sig_val, c.algo, other);
        ASSERT_FALSE(withheld) << c.curve;
        EXPECT_EQ(withheld.error().code, base::ErrorCode::ModuleFailure);
        auto flipped = c.s;
        flipped.back() ^= 1;
        EXPECT_FALSE(pgp::check_ecc_signature(
            public_key, sexp("(7:sig-val(" + name, {{"r", c.r}, {"s", flipped}}, "))"), c.algo,
            c.digest))
            << c.curve;
        EXPECT_FALSE(pgp::check_ecc_signature("garbage", sig_val, c.algo, c.digest));
    }
}

TEST(PgpSignatureValue, TheArmorIsRfc4880s) {
    // RFC 4880 §6.1: the CRC-24 of no bytes is its initial value, B704CE, "twTO" in radix-64.
    const std::string empty = pgp::armored_signature("");
    EXPECT_EQ(empty, "-----BEGIN PGP SIGNATURE-----\n\n=twTO\n-----END PGP SIGNATURE-----\n");
    const std::string long_one = pgp::armored_signature(std::string(100, 'x'));
    // 100 octets: 136 radix-64 characters, in lines of 64.
    std::istringstream lines(long_one);
    std::vector<std::size_t> widths;
    for (std::string line; std::getline(lines, line);) widths.push_back(line.size());
    ASSERT_EQ(widths.size(), 7u);
    EXPECT_EQ(widths[2], 64u);
    EXPECT_EQ(widths[3], 64u);
    EXPECT_EQ(widths[4], 8u);
    EXPECT_EQ(widths[5], 5u);  // "=" and the four characters of the CRC
}

}  // namespace
}  // namespace keyfence::test
