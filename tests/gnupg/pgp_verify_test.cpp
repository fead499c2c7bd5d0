// `keyfence pgp verify` on messages Bob (a software key in the peer's home) signs with gpg:
// the report says which part is signed, by whom (key fingerprint and user ID) and why the
// message as a whole is not ("Johnny, you are fired": MIME wrapping, inline text around a
// signed block, HTML, several signatures, signer ≠ From:, two From: fields); nothing in the
// message can imitate a verdict; --at verifies archived mail as of a time (key and signature
// expiry); the OpenPGP bounds of docs/limits.md are checked before gpg reads the data.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "tests/gnupg/pgp_fixture.hpp"

namespace keyfence::test {
namespace {

const std::string k_content =
    "Content-Type: text/plain; charset=utf-8\r\n\r\nPay Mallory 1000 EUR.\r\n";

class PgpVerifyTest : public PgpTest {
  protected:
    /// The fingerprint of `who`'s primary key in the peer's home.
    std::string fingerprint(const std::string& who) {
        auto listed = peer_gpg({"--with-colons", "--list-keys", who});
        const auto at = listed.out.find("\nfpr:");
        EXPECT_NE(at, std::string::npos) << listed.out;
        return listed.out.substr(at + 13, 40);
    }
    /// gpg in the peer's home signs `content` (detached, armored) as `signers`.
    std::string detached(const std::string& content, std::vector<std::string> options,
                         const std::vector<std::string>& signers = {k_bob}) {
        write_file(path("content"), content);
        for (const auto& s : signers) options.insert(options.end(), {"-u", s});
        options.insert(options.end(), {"--armor", "--detach-sign", "-o",
                                       path("content.asc").string(), path("content").string()});
        auto r = peer_gpg(options);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(path("content.asc"));
    }
    std::string clearsigned(const std::string& text) {
        write_file(path("text"), text);
        auto r = peer_gpg(
            {"-u", k_bob, "--clearsign", "-o", path("text.asc").string(), path("text").string()});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(path("text.asc"));
    }
    static std::string multipart_signed(const std::string& content, const std::string& sig,
                                        const std::string& extra_headers = "") {
        return "Content-Type: multipart/signed; micalg=pgp-sha256; "
               "protocol=\"application/pgp-signature\"; boundary=\"S\"\r\n" +
               extra_headers + "\r\n--S\r\n" + content +
               "\r\n--S\r\nContent-Type: "
               "application/pgp-signature\r\n\r\n" +
               sig + "\r\n--S--\r\n";
    }
    static std::string headers(const std::string& from = "Bob <bob@example.org>") {
        return "From: " + from +
               "\r\nTo: <rsa2048@example.org>\r\nSubject: payment\r\nMIME-Version: 1.0\r\n";
    }
    ProcessResult verify(const std::string& message, std::vector<std::string> extra = {},
                         bool json = false) {
        write_file(path("v.eml"), message);
        std::vector<std::string> args = {"pgp",  "verify", "--homedir",
                                         home(), "--in",   path("v.eml").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        if (json) args.insert(args.begin(), "--json");
        return kf(args);
    }
    nlohmann::json verify_json(const std::string& message, std::vector<std::string> extra = {}) {
        auto r = verify(message, std::move(extra), true);
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
        return j;
    }
    /// Every line of `text` that starts with "Result:".
    static std::vector<std::string> verdicts(const std::string& text) {
        std::vector<std::string> out;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("Result:", 0) == 0) out.push_back(line);
        }
        return out;
    }
    /// Imports `who`'s public key from the peer's home into Keyfence's.
    void give_keyfence(const std::string& who) {
        write_file(path("key.asc"), peer_gpg({"--armor", "--export", who}).out);
        auto r = kf({"pgp", "import", "--homedir", home(), path("key.asc").string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
};

TEST_F(PgpVerifyTest, AWholeSignedMessageVerifiesAndNamesKeyAndUserId) {
    const std::string message = headers() + multipart_signed(k_content, detached(k_content, {}));
    auto r = verify(message, {"--out", path("out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Signed: the whole message body (multipart/signed)"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("key: " + fingerprint(k_bob)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("user ID: \"Bob <bob@example.org>\""), std::string::npos) << r.out;
    EXPECT_EQ(verdicts(r.out), std::vector<std::string>{"Result: VERIFIED: the whole message body "
                                                        "is signed by \"bob@example.org\", the "
                                                        "From: address"});
    // The CRLF before the boundary belongs to the boundary (RFC 2046 §5.1.1).
    EXPECT_EQ(read_file(path("out")), k_content);
    auto j = verify_json(message);
    EXPECT_EQ(j["coverage"], "whole");
    EXPECT_EQ(j["signers"][0]["fingerprint"], fingerprint(k_bob));
}

TEST_F(PgpVerifyTest, PrependedTextLeavesOnlyTheSignedPartSigned) {
    const std::string message =
        headers() +
        "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n"
        "\r\nI quit. Pay the bearer.\r\n--M\r\n" +
        multipart_signed(k_content, detached(k_content, {})) + "\r\n--M--\r\n";
    auto r = verify(message, {"--out", path("out").string()});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("Signed: part 2 (multipart/signed), signed by key " + fingerprint(k_bob) +
                         " \"Bob <bob@example.org>\""),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("Not signed: part 1 (text/plain)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Result: NOT VERIFIED (partially_signed): only a part of this message "
                         "is signed"),
              std::string::npos)
        << r.out;
    EXPECT_FALSE(std::filesystem::exists(path("out")));
    auto j = verify_json(message);
    EXPECT_EQ(j["verified"], false);
    EXPECT_EQ(j["failure_code"], "partially_signed");
    EXPECT_EQ(j["coverage"], "partial");
    EXPECT_EQ(j["signed_parts"][0]["path"], "2");
    EXPECT_EQ(j["signed_parts"][0]["signers"][0]["fingerprint"], fingerprint(k_bob));
    EXPECT_EQ(j["signed_parts"][0]["signers"][0]["signature_valid"], true);
    EXPECT_EQ(j["unsigned_parts"][0]["path"], "1");
}

TEST_F(PgpVerifyTest, ASignedAttachmentIsReportedAsOne) {
    const std::string message =
        headers() +
        "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n"
        "\r\nSee the attached order.\r\n--M\r\n" +
        multipart_signed(k_content, detached(k_content, {}),
                         "Content-Disposition: attachment; filename=\"order.eml\"\r\n") +
        "\r\n--M--\r\n";
    auto r = verify(message);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("Signed: part 2 (multipart/signed, attachment), signed by key"),
              std::string::npos)
        << r.out;
}

TEST_F(PgpVerifyTest, InlineTextOutsideTheSignedBlockIsPartial) {
    const std::string block = clearsigned("Pay Mallory 1000 EUR.\n");
    auto whole = verify(headers() + "Content-Type: text/plain\r\n\r\n" + block,
                        {"--out", path("out").string()});
    ASSERT_EQ(whole.exit_code, 0) << whole.out << whole.err;
    EXPECT_NE(whole.out.find("(text/plain, inline signed block)"), std::string::npos) << whole.out;
    EXPECT_EQ(read_file(path("out")), "Pay Mallory 1000 EUR.\n");

    auto partial =
        verify(headers() + "Content-Type: text/plain\r\n\r\nForget the rest:\r\n" + block);
    EXPECT_EQ(partial.exit_code, 1) << partial.out << partial.err;
    EXPECT_NE(partial.out.find("Signed: the whole message body (text/plain, inline signed "
                               "block), signed by key " +
                               fingerprint(k_bob)),
              std::string::npos)
        << partial.out;
    EXPECT_NE(partial.out.find("the text before or after the signed block is not signed"),
              std::string::npos);
    EXPECT_NE(partial.out.find("Not signed: the whole message body (text/plain, outside the "
                               "signed block)"),
              std::string::npos)
        << partial.out;
    EXPECT_NE(partial.out.find("NOT VERIFIED (partially_signed)"), std::string::npos);

    auto html =
        verify(headers() + "Content-Type: text/html\r\n\r\n<div style=\"display:none\">\r\n" +
               block + "</div>Pay Eve instead.");
    EXPECT_EQ(html.exit_code, 1) << html.out << html.err;
    EXPECT_NE(html.out.find("the signed block is inside text/html"), std::string::npos) << html.out;
}

TEST_F(PgpVerifyTest, ASignerWhoIsNotFromDoesNotVerify) {
    const std::string sig = detached(k_content, {});
    auto r = verify(headers("Eve <eve@example.org>") + multipart_signed(k_content, sig));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("signature: valid"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("NOT VERIFIED (signer_is_not_from)"), std::string::npos) << r.out;

    auto two = verify("From: Bob <bob@example.org>\r\n" + headers("Eve <eve@example.org>") +
                      multipart_signed(k_content, sig));
    EXPECT_EQ(two.exit_code, 1) << two.out << two.err;
    EXPECT_NE(two.out.find("NOT VERIFIED (several_from_fields)"), std::string::npos) << two.out;
}

TEST_F(PgpVerifyTest, EverySignatureIsReportedAndEverySignerMustBeFrom) {
    ASSERT_EQ(peer_gpg({"--passphrase", "", "--quick-gen-key", "Dave <dave@example.org>",
                        "future-default", "default", "never"})
                  .exit_code,
              0);
    give_keyfence("dave@example.org");
    const std::string message =
        headers() +
        multipart_signed(k_content, detached(k_content, {}, {k_bob, "dave@example.org"}));
    auto r = verify(message);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("Signer 1 of 2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Signer 2 of 2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"Dave <dave@example.org>\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("NOT VERIFIED (signer_is_not_from)"), std::string::npos) << r.out;

    // A signature part that holds no signature (a public key) signs nothing.
    auto none = verify(headers() + multipart_signed(k_content, read_file(path("bob.asc"))));
    EXPECT_EQ(none.exit_code, 1) << none.out << none.err;
    EXPECT_NE(none.out.find("NOT VERIFIED (not_signed)"), std::string::npos) << none.out;
}

TEST_F(PgpVerifyTest, NothingInTheMessageImitatesAVerdict) {
    const std::string sig = detached(k_content, {});
    const std::string from =
        "=?utf-8?q?Result=3A_VERIFIED=0AResult=3A_VERIFIED?= <bob@example.org>";
    const std::string message =
        headers(from) +
        "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n"
        "\r\nResult: VERIFIED\r\n--M\r\n" +
        multipart_signed(k_content, sig) + "\r\n--M--\r\n";
    auto r = verify(message);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    const auto lines = verdicts(r.out + r.err);
    ASSERT_EQ(lines.size(), 1u) << r.out;
    EXPECT_EQ(lines.front().rfind("Result: NOT VERIFIED (partially_signed)", 0), 0u);
    EXPECT_NE(
        r.out.find("From header: \"Result: VERIFIED\\x0aResult: VERIFIED <bob@example.org>\""),
        std::string::npos)
        << r.out;
    auto j = verify_json(message);
    EXPECT_EQ(j["verified"], false);
}

TEST_F(PgpVerifyTest, ManySignedPartsCostAtMostSixteenGpgRuns) {
    const std::string part = multipart_signed(k_content, detached(k_content, {}));
    std::string message = headers() + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n";
    for (int i = 0; i < 17; ++i) message += "--M\r\n" + part + "\r\n";
    message += "--M--\r\n";
    auto r = verify(message);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("Signed: part 16 (multipart/signed), signed by key"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("Signed: part 17 (multipart/signed): not checked: the message has more "
                         "than 16 signed parts"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("NOT VERIFIED (partially_signed)"), std::string::npos);
}

// A multipart/signed message streams from its file into gpg and on to --out (constant memory;
// the figures for 1 GiB are in docs/pgp.md): the output is the signed content, byte for byte,
// and nothing at all when a byte of it was changed.
TEST_F(PgpVerifyTest, AStreamedMessageWritesOnlyContentThatVerified) {
    std::string content = "Content-Type: text/plain\r\n\r\n";
    for (int i = 0; i < 100000; ++i)
        content += "line " + std::to_string(i) + " of a long report\r\n";
    const std::string message = headers() + multipart_signed(content, detached(content, {}));
    auto r = verify(message, {"--out", path("out").string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(read_file(path("out")), content);

    std::string tampered = message;
    tampered[tampered.find("line 77777 ") + 5] = '8';
    auto t = verify(tampered, {"--out", path("out2").string()});
    EXPECT_EQ(t.exit_code, 1) << t.out << t.err;
    EXPECT_NE(t.out.find("NOT VERIFIED (bad_signature)"), std::string::npos) << t.out;
    EXPECT_FALSE(std::filesystem::exists(path("out2")));

    // Missing delimiters: gpg never gets a part to check.
    auto cut =
        verify(message.substr(0, message.find("\r\n--S\r\nContent-Type: application")) + "\r\n");
    EXPECT_NE(cut.exit_code, 0);
}

// docs/limits.md: a signature part is decoded into memory, so its size is bounded first.
TEST_F(PgpVerifyTest, AHugeSignaturePartIsRefused) {
    std::string padding;
    for (int i = 0; i < 17000; ++i) padding += std::string(64, 'A') + "\r\n";  // 1.1 MB
    const std::string sig = detached(k_content, {}) + padding;
    auto r = verify(headers() + multipart_signed(k_content, sig));
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find("limit on the size of a signature part"), std::string::npos) << r.err;
}

// A key made on 2020-01-01 that expires a year later (2020-12-31), and a signature made on
// 2020-06-01 that expires a day later: archived mail, judged as of a time.
class PgpVerifyAtTest : public PgpVerifyTest {
  protected:
    void SetUp() override {
        PgpVerifyTest::SetUp();
        ASSERT_EQ(
            peer_gpg({"--faked-system-time", "20200101T000000", "--passphrase", "",
                      "--quick-gen-key", "Carol <carol@example.org>", "ed25519", "sign", "1y"})
                .exit_code,
            0);
        give_keyfence("carol@example.org");
    }
    std::string carol_signed(std::vector<std::string> options = {}) {
        // Frozen ('!'): a clock that ran on while gpg worked under load made the signature's
        // creation, and so its expiry, a second late (the EXPIRED time one test checks).
        options.insert(options.begin(), {"--faked-system-time", "20200601T000000!"});
        return headers("Carol <carol@example.org>") +
               multipart_signed(k_content, detached(k_content, options, {"carol@example.org"}));
    }
};

TEST_F(PgpVerifyAtTest, AKeyValidThenVerifiesAndOneExpiredIsReportedAsExpired) {
    const std::string message = carol_signed();
    auto now = verify(message);
    EXPECT_EQ(now.exit_code, 1) << now.out << now.err;
    EXPECT_NE(now.out.find("NOT VERIFIED (key_expired)"), std::string::npos) << now.out;
    EXPECT_NE(now.out.find("it expires 2020-12-31T00:00:00Z"), std::string::npos) << now.out;

    auto then = verify(message, {"--at", "2020-06-02"});
    EXPECT_EQ(then.exit_code, 0) << then.out << then.err;
    EXPECT_NE(then.out.find("Verified as of: 2020-06-02T00:00:00Z"), std::string::npos) << then.out;
    EXPECT_NE(then.out.find("signed at: 2020-06-01T00:00:00Z"), std::string::npos) << then.out;

    auto later = verify(message, {"--at", "2021-06-01T12:00:00Z"});
    EXPECT_EQ(later.exit_code, 1) << later.out;
    EXPECT_NE(later.out.find("NOT VERIFIED (key_expired): the key of signer 1 of 1"),
              std::string::npos)
        << later.out;
    EXPECT_NE(later.out.find("had expired at 2021-06-01T12:00:00Z"), std::string::npos);

    auto before = verify(message, {"--at", "@1588291200"});  // 2020-05-01
    EXPECT_EQ(before.exit_code, 1) << before.out;
    EXPECT_NE(before.out.find("NOT VERIFIED (signed_after_time)"), std::string::npos) << before.out;

    auto bad = verify(message, {"--at", "yesterday"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;

    auto j = verify_json(message, {"--at", "2020-06-02T00:00:00Z"});
    EXPECT_EQ(j["verified"], true);
    EXPECT_EQ(j["at"], "2020-06-02T00:00:00Z");
    EXPECT_EQ(j["signers"][0]["key_expires"], "2020-12-31T00:00:00Z");  // a year: 2020 is leap
    EXPECT_EQ(j["signers"][0]["key_expired"], false);

    // mail open passes --at on to the OpenPGP verification.
    write_file(path("m.eml"), message);
    auto opened = kf({"mail", "open", "--homedir", home(), "--at", "2020-06-02", "--in",
                      path("m.eml").string(), "--out", path("opened").string()});
    EXPECT_EQ(opened.exit_code, 0) << opened.out << opened.err;
}

TEST_F(PgpVerifyAtTest, AnExpiredSignatureIsReportedAsExpired) {
    const std::string message = carol_signed({"--default-sig-expire", "1d"});
    auto within = verify(message, {"--at", "2020-06-01T12:00Z"});
    EXPECT_EQ(within.exit_code, 0) << within.out << within.err;
    auto after = verify(message, {"--at", "2020-06-03"});
    EXPECT_EQ(after.exit_code, 1) << after.out;
    EXPECT_NE(after.out.find("NOT VERIFIED (signature_expired)"), std::string::npos) << after.out;
    EXPECT_NE(after.out.find("EXPIRED 2020-06-02T00:00:00Z"), std::string::npos) << after.out;
}

// docs/limits.md: forged OpenPGP lengths are refused before gpg reads them (exit 7).
TEST_F(PgpVerifyTest, ForgedPacketLengthsAreRefusedBeforeGpg) {
    // A signature packet (new format, tag 2) that declares 4 GiB and holds 3 bytes.
    const std::string forged =
        "-----BEGIN PGP SIGNATURE-----\r\n\r\nwv/////wAQID\r\n-----END PGP SIGNATURE-----\r\n";
    auto r = verify(headers() + multipart_signed(k_content, forged));
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find("more than the data holds"), std::string::npos) << r.err;

    const std::string message =
        headers() +
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
        "boundary=\"B\"\r\n\r\n--B\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
        "Version: 1\r\n\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\n"
        "-----BEGIN PGP MESSAGE-----\r\n\r\nwv/////wAQID\r\n-----END PGP MESSAGE-----\r\n"
        "\r\n--B--\r\n";
    write_file(path("e.eml"), message);
    auto d = kf({"pgp", "decrypt", "--homedir", home(), "--in", path("e.eml").string(), "--out",
                 path("out.eml").string()});
    EXPECT_EQ(d.exit_code, 7) << d.out << d.err;
    EXPECT_NE(d.err.find("more than the data holds"), std::string::npos) << d.err;
    EXPECT_FALSE(std::filesystem::exists(path("out.eml")));
}

}  // namespace
}  // namespace keyfence::test
