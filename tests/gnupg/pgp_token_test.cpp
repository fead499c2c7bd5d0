// PGP/MIME with an RSA key on a PKCS#11 token (SoftHSM) behind gnupg-pkcs11-scd: Keyfence
// binds, signs, encrypts and decrypts; gpg in another home is the judge and the peer.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "base/hex.hpp"
#include "mail/pgp/sign.hpp"
#include "tests/gnupg/pgp_fixture.hpp"

namespace keyfence::test {
namespace {

// The signed part and the signature of an RFC 3156 multipart/signed message, cut by hand
// from the bytes (the judge must not depend on Keyfence's own MIME code).
std::pair<std::string, std::string> split_signed(const std::string& message) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(message, m, std::regex("boundary=\"([^\"]+)\"")));
    const std::string delimiter = "--" + m[1].str();
    const auto first = message.find(delimiter + "\r\n");
    const auto second = message.find("\r\n" + delimiter + "\r\n", first + 1);
    EXPECT_NE(first, std::string::npos);
    EXPECT_NE(second, std::string::npos);
    const auto start = first + delimiter.size() + 2;
    const std::string content = message.substr(start, second - start);
    const auto sb = message.find("-----BEGIN PGP SIGNATURE-----", second);
    const auto se = message.find("-----END PGP SIGNATURE-----", sb);
    return {content, message.substr(sb, se + 27 - sb) + "\n"};
}

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST_F(PgpTest, BindMakesACertificateWhoseSecretStaysOnTheToken) {
    auto listing = home_gpg({"--with-colons", "-K", m_fingerprint});
    ASSERT_EQ(listing.exit_code, 0) << listing.err;
    // "sec" field 15 is the card serial: the secret key is a stub pointing at the token.
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(listing.out, m, std::regex("(^|\n)sec:[^\n]*:(D2760001[0-9A-F]+):")));
    EXPECT_NE(listing.out.find("Token Tester <rsa2048@example.org>"), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(path("gnupg") / "keyfence-bindings"));
}

TEST_F(PgpTest, SignProducesRfc3156MessageThatGpgVerifies) {
    auto signed_run = kf({"pgp", "sign", "--homedir", home(), "--key", k_me, "--in",
                          message("msg.eml", k_me, "Meet at noon.\n", k_my_name).string(), "--out",
                          path("signed.eml").string()});
    ASSERT_EQ(signed_run.exit_code, 0) << signed_run.err;
    const std::string out = read_file(path("signed.eml"));
    EXPECT_NE(out.find("multipart/signed"), std::string::npos);
    EXPECT_NE(out.find("protocol=\"application/pgp-signature\""), std::string::npos);
    EXPECT_NE(out.find("micalg=pgp-sha256"), std::string::npos);
    EXPECT_NE(out.find("Subject: test\r\n"), std::string::npos);  // outer headers kept, CRLF
    auto [content, signature] = split_signed(out);
    EXPECT_NE(content.find("Meet at noon.\r\n"), std::string::npos);
    write_file(path("content"), content);
    write_file(path("content.asc"), signature);
    auto judge = peer_gpg(
        {"--status-fd", "1", "--verify", path("content.asc").string(), path("content").string()});
    EXPECT_EQ(judge.exit_code, 0) << judge.err;
    EXPECT_NE(judge.out.find("[GNUPG:] GOODSIG"), std::string::npos);
    EXPECT_NE(judge.out.find(m_fingerprint), std::string::npos);

    // Keyfence verifies its own output too, and binds the signer to From:.
    auto verify = kf({"pgp", "verify", "--homedir", home(), "--in", path("signed.eml").string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_NE(verify.out.find("Result: VERIFIED"), std::string::npos);
}

TEST_F(PgpTest, DecryptsWhatGpgEncryptedInAnotherHome) {
    const std::string entity =
        "Content-Type: text/plain; charset=utf-8\r\n\r\nThe secret plan.\r\n";
    write_file(path("entity"), entity);
    ASSERT_EQ(peer_gpg({"--trust-model", "always", "--armor", "-r", k_me, "-e", "-o",
                        path("entity.asc").string(), path("entity").string()})
                  .exit_code,
              0);
    write_file(path("enc.eml"),
               "From: Bob <bob@example.org>\r\nTo: <rsa2048@example.org>\r\nSubject: plan\r\n"
               "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; "
               "protocol=\"application/pgp-encrypted\"; boundary=\"XX\"\r\n\r\n--XX\r\n"
               "Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--XX\r\n"
               "Content-Type: application/octet-stream\r\n\r\n" +
                   read_file(path("entity.asc")) + "\r\n--XX--\r\n");
    auto r = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("enc.eml").string(), "--out",
                 path("dec.eml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string dec = read_file(path("dec.eml"));
    EXPECT_NE(dec.find("The secret plan."), std::string::npos);
    EXPECT_NE(dec.find("Subject: plan"), std::string::npos);
    EXPECT_NE(r.out.find("Signature: none"), std::string::npos);
}

TEST_F(PgpTest, EncryptsSoThatGpgDecryptsAndTheSenderCanReadItBack) {
    auto r = kf({"pgp", "encrypt", "--homedir", home(), "--to", k_bob, "--in",
                 message("msg.eml").string(), "--out", path("enc.eml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string out = read_file(path("enc.eml"));
    EXPECT_NE(out.find("multipart/encrypted"), std::string::npos);
    EXPECT_NE(out.find("protocol=\"application/pgp-encrypted\""), std::string::npos);
    EXPECT_NE(out.find("Content-Type: application/pgp-encrypted"), std::string::npos);
    EXPECT_NE(out.find("Content-Type: application/octet-stream"), std::string::npos);
    EXPECT_EQ(out.find("Meet at noon"), std::string::npos);
    auto judge = peer_gpg({"-d", armor_block(path("enc.eml"), "enc.asc", "MESSAGE").string()});
    ASSERT_EQ(judge.exit_code, 0) << judge.err;
    EXPECT_NE(judge.out.find("Meet at noon."), std::string::npos);
    // Encrypted to the sender's own key too: Keyfence decrypts its sent copy on the token.
    auto own = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("enc.eml").string(), "--out",
                   path("dec.eml").string()});
    ASSERT_EQ(own.exit_code, 0) << own.err;
    EXPECT_NE(read_file(path("dec.eml")).find("Meet at noon."), std::string::npos);
}

TEST_F(PgpTest, SignAndEncryptInOneCallIsReadAndVerifiedByGpg) {
    auto r = kf({"pgp", "encrypt", "--sign", "--homedir", home(), "--to", k_bob, "--in",
                 message("msg.eml").string(), "--out", path("se.eml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto judge = peer_gpg(
        {"--status-fd", "2", "-d", armor_block(path("se.eml"), "se.asc", "MESSAGE").string()});
    ASSERT_EQ(judge.exit_code, 0) << judge.err;
    EXPECT_NE(judge.out.find("Meet at noon."), std::string::npos);
    EXPECT_NE(judge.err.find("[GNUPG:] GOODSIG"), std::string::npos);
    EXPECT_NE(judge.err.find(m_fingerprint), std::string::npos);
}

TEST_F(PgpTest, DecryptsAndVerifiesWhatGpgSignedAndEncrypted) {
    write_file(path("entity"), "Content-Type: text/plain\r\n\r\nFrom Bob, signed.\r\n");
    ASSERT_EQ(peer_gpg({"--trust-model", "always", "--armor", "-u", k_bob, "-r", k_me, "--sign",
                        "--encrypt", "-o", path("entity.asc").string(), path("entity").string()})
                  .exit_code,
              0);
    const std::string body = read_file(path("entity.asc"));
    auto make = [&](const std::string& from) {
        return "From: <" + from +
               ">\r\nTo: <rsa2048@example.org>\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
               "boundary=\"B\"\r\n\r\n--B\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
               "Version: 1\r\n\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\n" +
               body + "\r\n--B--\r\n";
    };
    write_file(path("se.eml"), make(k_bob));
    auto r = kf({"--json", "pgp", "decrypt", "--homedir", home(), "--in", path("se.eml").string(),
                 "--out", path("dec.eml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(read_file(path("dec.eml")).find("From Bob, signed."), std::string::npos);
    EXPECT_NE(r.out.find("\"verified\": true"), std::string::npos);
    EXPECT_NE(r.out.find("\"from_matches\": true"), std::string::npos);

    // The same ciphertext claiming to come from someone else: decrypted, but exit 1.
    write_file(path("forged.eml"), make("mallory@example.org"));
    auto forged = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("forged.eml").string(),
                      "--out", path("dec2.eml").string()});
    EXPECT_EQ(forged.exit_code, 1) << forged.out << forged.err;
    EXPECT_NE(forged.out.find("NOT VERIFIED (signer_is_not_from)"), std::string::npos)
        << forged.out;
}

TEST_F(PgpTest, WrongPinCostsOneLoginAndIsReportedAsWrongPin) {
    // gnupg-pkcs11-scd through OpenSC's pkcs11-spy, which logs every PKCS#11 call.
    const auto spy_log = path("spy.log");
    m_extra_env = {{"PKCS11SPY", k_softhsm_module}, {"PKCS11SPY_OUTPUT", spy_log.string()}};
    setup_home({"/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"});
    auto r = kf({"pgp", "sign", "--homedir", home(), "--key", m_fingerprint, "--in",
                 message("msg.eml").string(), "--out", path("signed.eml").string()},
                "999999");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("signed.eml")));
    const std::string log = read_file(spy_log);
    EXPECT_EQ(count(log, "C_Login"), 1) << log.substr(0, 2000);
    EXPECT_NE(log.find("CKR_PIN_INCORRECT"), std::string::npos);
}

TEST_F(PgpTest, NoPrivateKeyOperationSucceedsWithoutAPinAfterOne) {
    ASSERT_EQ(kf({"pgp", "sign", "--homedir", home(), "--key", k_me, "--in",
                  message("msg.eml").string(), "--out", path("one.eml").string()})
                  .exit_code,
              0);
    // Straight after, with a wrong PIN: a cached login in gpg-agent or gnupg-pkcs11-scd would
    // let this succeed.
    auto again = kf({"pgp", "sign", "--homedir", home(), "--key", k_me, "--in",
                     message("msg.eml").string(), "--out", path("two.eml").string()},
                    "000000");
    EXPECT_EQ(again.exit_code, 3) << again.err;
    EXPECT_FALSE(std::filesystem::exists(path("two.eml")));
    // And gpg itself, without Keyfence's callback, gets no signature out of the home either.
    write_file(path("data"), "x");
    auto gpg = home_gpg({"--pinentry-mode", "loopback", "--passphrase", "000000", "-u", k_me,
                         "--detach-sign", "-o", path("data.sig").string(), path("data").string()});
    EXPECT_NE(gpg.exit_code, 0);
}

TEST_F(PgpTest, ConfirmEachOperationAppliesToPgpMime) {
    // pin.confirm_each_operation: gpg's signature needs the user's confirmation too. With
    // --pin-fd there is no one to confirm, so it is refused unless --assume-confirmed.
    std::filesystem::create_directories(m_world.user_config().parent_path());
    write_file(m_world.user_config(), "[pin]\nconfirm_each_operation = true\n");
    const std::vector<std::string> sign = {"pgp",       "sign",
                                           "--homedir", home(),
                                           "--key",     k_me,
                                           "--in",      message("msg.eml").string(),
                                           "--out",     path("signed.eml").string()};
    auto refused = kf(sign);
    EXPECT_EQ(refused.exit_code, 8) << refused.err;
    EXPECT_NE(refused.err.find("not confirmed"), std::string::npos) << refused.err;
    EXPECT_FALSE(std::filesystem::exists(path("signed.eml")));
    EXPECT_NE(read_file(m_world.audit_log()).find("openpgp"), std::string::npos)
        << "the declined confirmation is audited";
    std::vector<std::string> confirmed = sign;
    confirmed.insert(confirmed.begin(), "--assume-confirmed");
    auto signed_run = kf(confirmed);
    EXPECT_EQ(signed_run.exit_code, 0) << signed_run.err;
    EXPECT_TRUE(std::filesystem::exists(path("signed.eml")));
}

// gpg processes of this test's home still running "--detach-sign" (one-pass signing keeps one
// waiting for the end of its input until the engine admits the signature).
int signing_gpgs(const std::string& homedir) {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        std::string cmdline((std::istreambuf_iterator<char>(in)), {});
        if (cmdline.find(homedir) != std::string::npos &&
            cmdline.find("--detach-sign") != std::string::npos) {
            ++n;
        }
    }
    return n;
}

TEST_F(PgpTest, RefusedConfirmationLeavesNoOutputAndTheTokenSignsNothing) {
    // One pass: gpg has read the whole body (more than its 1 MiB pipe) when the confirmation,
    // which shows the final SHA-256, is refused. gpg is then killed before the end of its input:
    // no PIN asked, the token saw no login and no signature (pkcs11-spy logs every call), and no
    // gpg is left. Confirmed, the same message is signed once.
    const auto spy_log = path("spy.log");
    m_extra_env = {{"PKCS11SPY", k_softhsm_module}, {"PKCS11SPY_OUTPUT", spy_log.string()}};
    setup_home({"/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"});
    std::filesystem::create_directories(m_world.user_config().parent_path());
    write_file(m_world.user_config(), "[pin]\nconfirm_each_operation = true\n");
    std::string body;
    while (body.size() < (3u << 20)) body += "A line of a message the user does not confirm.\n";
    const std::vector<std::string> sign = {
        "pgp",       "sign",
        "--homedir", home(),
        "--key",     m_fingerprint,
        "--in",      message("msg.eml", k_me, body, k_my_name).string(),
        "--out",     path("signed.eml").string()};
    auto r = kf(sign);
    EXPECT_EQ(r.exit_code, 8) << r.err;
    EXPECT_NE(r.err.find("not confirmed"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("signed.eml")));
    auto spied = [&] {
        return std::filesystem::exists(spy_log) ? read_file(spy_log) : std::string();
    };
    EXPECT_EQ(count(spied(), "C_Login"), 0);
    EXPECT_EQ(count(spied(), "C_Sign"), 0);
    EXPECT_EQ(signing_gpgs(home()), 0) << "the waiting gpg was stopped";

    std::vector<std::string> confirmed = sign;
    confirmed.insert(confirmed.begin(), "--assume-confirmed");
    auto ok = kf(confirmed);
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_EQ(count(spied(), "C_Login"), 1);
    EXPECT_EQ(count(spied(), "C_SignInit"), 1);
    // The refused confirmation was of the final SHA-256 of exactly the bytes signed later.
    auto [content, signature] = split_signed(read_file(path("signed.eml")));
    const std::string sha256 = base::to_hex(mail::pgp::sha256_of(content));
    EXPECT_EQ(count(read_file(m_world.audit_log()), sha256), 2) << sha256;
}

TEST_F(PgpTest, MicalgIsTheSignaturesHashWhateverTheHomePrefers) {
    // The micalg is written before the content (one pass), so gpg is told the hash
    // (--digest-algo); a home that prefers SHA-512 does not make the two differ.
    {
        std::ofstream conf(path("gnupg") / "gpg.conf", std::ios::app);
        conf << "personal-digest-preferences SHA512\n";
    }
    auto signed_run = kf({"pgp", "sign", "--homedir", home(), "--key", k_me, "--in",
                          message("msg.eml", k_me, "Meet at noon.\n", k_my_name).string(), "--out",
                          path("signed.eml").string()});
    ASSERT_EQ(signed_run.exit_code, 0) << signed_run.err;
    const std::string out = read_file(path("signed.eml"));
    EXPECT_NE(out.find("micalg=pgp-sha256"), std::string::npos);
    auto [content, signature] = split_signed(out);
    write_file(path("content.asc"), signature);
    auto packets = peer_gpg({"--list-packets", path("content.asc").string()});
    EXPECT_NE(packets.out.find("digest algo 8,"), std::string::npos) << packets.out;  // SHA-256
    auto verify = kf({"pgp", "verify", "--homedir", home(), "--in", path("signed.eml").string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_EQ(signing_gpgs(home()), 0);
}

TEST_F(PgpTest, OperationsAreAuditedAsOpenPgp) {
    ASSERT_EQ(kf({"pgp", "sign", "--homedir", home(), "--key", k_me, "--in",
                  message("msg.eml").string(), "--out", path("signed.eml").string()})
                  .exit_code,
              0);
    const std::string log = read_file(m_world.audit_log());
    EXPECT_NE(log.find("\"protocol\":\"openpgp\""), std::string::npos) << log;
    EXPECT_NE(log.find("rsa2048"), std::string::npos);
}

// A ~4 MiB message through the streaming paths (docs/pgp.md, "Large messages"): sign,
// encrypt, encrypt --sign and decrypt, with gpg as the judge of every output.
TEST_F(PgpTest, LargeMessageStreamsThroughSignEncryptAndDecrypt) {
    std::string body;
    for (int i = 0; body.size() < (4u << 20); ++i) {
        body += "Line " + std::to_string(i) + " of a large message, streamed in blocks.\n";
    }
    body += "The last line.\n";
    // The bound user ID's display name, so that the signature inside verifies.
    const auto msg = message("big.eml", k_me, body, k_my_name);

    auto s = kf({"pgp", "sign", "--homedir", home(), "--key", k_me, "--in", msg.string(), "--out",
                 path("big-signed.eml").string()});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto [content, signature] = split_signed(read_file(path("big-signed.eml")));
    EXPECT_GT(content.size(), 4u << 20);
    EXPECT_NE(content.find("Line 0 of a large message, streamed in blocks.\r\n"),
              std::string::npos);
    EXPECT_NE(content.find("The last line.\r\n"), std::string::npos);
    write_file(path("big-content"), content);
    write_file(path("big-content.asc"), signature);
    auto verified = peer_gpg({"--status-fd", "1", "--verify", path("big-content.asc").string(),
                              path("big-content").string()});
    EXPECT_EQ(verified.exit_code, 0) << verified.err;
    EXPECT_NE(verified.out.find("[GNUPG:] GOODSIG"), std::string::npos);

    auto e = kf({"pgp", "encrypt", "--sign", "--homedir", home(), "--to", k_bob, "--in",
                 msg.string(), "--out", path("big-enc.eml").string()});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    const std::string encrypted = read_file(path("big-enc.eml"));
    EXPECT_EQ(encrypted.find("The last line."), std::string::npos);
    EXPECT_EQ(count(encrypted, "\n"), count(encrypted, "\r\n"));  // CRLF throughout
    auto judge = peer_gpg({"--status-fd", "2", "-d",
                           armor_block(path("big-enc.eml"), "big-enc.asc", "MESSAGE").string()});
    ASSERT_EQ(judge.exit_code, 0) << judge.err;
    EXPECT_NE(judge.out.find("The last line.\r\n"), std::string::npos);
    EXPECT_NE(judge.err.find("[GNUPG:] GOODSIG"), std::string::npos);

    auto plain = kf({"pgp", "encrypt", "--homedir", home(), "--to", k_bob, "--in", msg.string(),
                     "--out", path("big-enc2.eml").string()});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    auto d = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("big-enc2.eml").string(),
                 "--out", path("big-dec.eml").string()});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    const std::string decrypted = read_file(path("big-dec.eml"));
    EXPECT_GT(decrypted.size(), 4u << 20);
    EXPECT_NE(decrypted.find("Line 0 of a large message"), std::string::npos);
    EXPECT_NE(decrypted.find("The last line."), std::string::npos);
    EXPECT_NE(decrypted.find("Subject: test"), std::string::npos);

    // The signed and encrypted copy decrypts too, and its signature verifies.
    auto d2 = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("big-enc.eml").string(),
                  "--out", path("big-dec2.eml").string()});
    ASSERT_EQ(d2.exit_code, 0) << d2.out << d2.err;
    EXPECT_NE(read_file(path("big-dec2.eml")).find("The last line."), std::string::npos);
    EXPECT_NE(d2.out.find("VERIFIED"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::test
