// The pieces of a strict verdict on their own, without a token: quoting of message strings,
// the sender rules, the coverage walk (MIME paths) and the tree limits.

#include <gtest/gtest.h>

#include "mail/mime/coverage.hpp"
#include "mail/mime/limits.hpp"
#include "mail/mime/message.hpp"
#include "mail/mime/sender.hpp"

namespace keyfence::mail::mime {
namespace {

TEST(Quote, EscapesEverythingThatCouldPassForKeyfenceText) {
    EXPECT_EQ(quote("plain"), "\"plain\"");
    EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(quote("x\nResult: VERIFIED\r"), "\"x\\x0aResult: VERIFIED\\x0d\"");
    EXPECT_EQ(quote("\x1b[32mOK"), "\"\\x1b[32mOK\"");
    EXPECT_EQ(quote("bad \xff byte"), "\"bad \\xff byte\"");
    EXPECT_EQ(quote("\xe2\x80\xae"
                    "evil"),
              "\"\\u{202e}evil\"");  // RIGHT-TO-LEFT OVERRIDE
    EXPECT_EQ(quote("a\xe2\x80\x8b"
                    "b"),
              "\"a\\u{200b}b\"");  // ZERO WIDTH SPACE
    EXPECT_EQ(quote("Gr\xc3\xbc\xc3\x9f"
                    "e"),
              "\"Gr\xc3\xbc\xc3\x9f"
              "e\"");                                // kept as is
    EXPECT_EQ(quote("\xc0\xaf"), "\"\\xc0\\xaf\"");  // an overlong form is not UTF-8
}

SenderHeaders from(const std::string& field, const std::string& extra = "") {
    auto m = Message::parse("From: " + field + "\r\n" + extra + "Subject: s\r\n\r\nbody\r\n");
    EXPECT_TRUE(m.has_value());
    return sender_headers(m->get());
}

TEST(CheckSender, BindsEverySignerToTheOneFromMailbox) {
    const SignerIdentity alice{{"alice@example.org"}, {"Alice Example"}};
    EXPECT_TRUE(check_sender(from("alice@example.org"), {alice}).ok());
    EXPECT_TRUE(check_sender(from("\"alice  EXAMPLE\" <Alice@Example.org>"), {alice}).ok());
    EXPECT_EQ(check_sender(from("Boss <alice@example.org>"), {alice}).code,
              "display_name_not_certified");
    EXPECT_EQ(check_sender(from("bob@example.org"), {alice}).code, "signer_is_not_from");
    EXPECT_EQ(check_sender(from("alice@example.org"), {alice, {{"eve@example.org"}, {}}}).code,
              "signer_is_not_from");
    EXPECT_EQ(check_sender(from("alice@example.org", "From: bob@example.org\r\n"), {alice}).code,
              "several_from_fields");
    EXPECT_EQ(check_sender(from("alice@example.org, bob@example.org"), {alice}).code,
              "several_from_addresses");
    EXPECT_EQ(check_sender(from("Alice Example"), {alice}).code, "from_without_address");
    EXPECT_EQ(check_sender(from("bob@example.org <alice@example.org>"), {alice}).code,
              "display_name_is_an_address");
    EXPECT_EQ(check_sender(from("alice@example.org", "Sender: bob@example.org\r\n"), {alice}).code,
              "sender_differs");
    EXPECT_TRUE(
        check_sender(from("alice@example.org", "Sender: ALICE@example.org\r\n"), {alice}).ok());
}

TEST(Coverage, NamesEverySignedPartByItsPath) {
    auto m = Message::parse(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        "Content-Type: text/plain\r\n\r\nhi\r\n--o\r\nContent-Type: multipart/alternative; "
        "boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nx\r\n--i\r\n"
        "Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
        "Content-Disposition: attachment\r\n\r\nAAAA\r\n--i--\r\n--o\r\n"
        "Content-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--o--\r\n");
    ASSERT_TRUE(m.has_value());
    const Coverage c = analyse_coverage(m->body());
    EXPECT_FALSE(c.whole_body_signed());
    ASSERT_EQ(c.signed_entities.size(), 2u);
    EXPECT_EQ(c.signed_entities[0].path, "2.2");
    EXPECT_EQ(c.signed_entities[0].kind, SignedKind::SmimeOpaque);
    EXPECT_EQ(c.signed_entities[0].context, "attachment");
    EXPECT_EQ(c.signed_entities[1].path, "3");
    EXPECT_EQ(c.signed_entities[1].kind, SignedKind::OrphanSignature);
    ASSERT_EQ(c.unsigned_parts.size(), 2u);
    EXPECT_EQ(c.unsigned_parts[0].path, "1");
    EXPECT_EQ(c.unsigned_parts[1].path, "2.1");
    EXPECT_EQ(describe_path(""), "the whole message body");
}

// The coverage of a message given as text (which must parse).
Coverage coverage_of(const std::string& text) {
    auto m = Message::parse(text);
    EXPECT_TRUE(m.has_value());
    return m ? analyse_coverage(m->body()) : Coverage{};
}

TEST(Coverage, FindsInlineOpenPgpSignaturesForThePgpPath) {
    const Coverage c = coverage_of(
        "From: a@example.org\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nx\r\n");
    ASSERT_EQ(c.signed_entities.size(), 1u);
    EXPECT_EQ(c.signed_entities[0].kind, SignedKind::PgpInline);
}

TEST(Coverage, AMediaTypeOutsideTheTokenCharactersIsQuoted) {
    // GMime keeps what RFC 2045 would not: the report must not show it bare.
    const Coverage c = coverage_of(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        "Content-Type: text/\xe2\x80\xaeplain\r\n\r\nhi\r\n--o--\r\n");
    ASSERT_EQ(c.unsigned_parts.size(), 1u);
    EXPECT_EQ(c.unsigned_parts[0].type, "\"text/\\u{202e}plain\"");
}

TEST(Limits, TreeLimitsAreCheckedOnTheParsedTree) {
    auto m = Message::parse(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
        "Content-Type: text/plain\r\n\r\nhi\r\n--o--\r\n");
    ASSERT_TRUE(m.has_value());
    MimeLimits tight;
    tight.max_parts = 1;
    auto refused = check_tree_limits(GMIME_OBJECT(m->get()), tight);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, base::ErrorCode::BadInput);
    EXPECT_NE(refused.error().context.find("number of MIME parts (2, at most 1)"),
              std::string::npos);
    tight = MimeLimits{};
    tight.max_depth = 1;
    EXPECT_FALSE(check_tree_limits(GMIME_OBJECT(m->get()), tight).has_value());
    EXPECT_TRUE(check_tree_limits(GMIME_OBJECT(m->get())).has_value());
    EXPECT_FALSE(check_raw_limits(std::string(20, 'x'), {.max_line_bytes = 10}).has_value());
}

// The streaming line check jumps from window to window; every line length around the limit,
// and lines that straddle its 1 MiB read blocks, must be judged as a byte-by-byte count would.
TEST(Limits, StreamLineLimitsAreExactAtTheBoundAndAcrossBlocks) {
    auto judged = [](const std::string& text, std::size_t max) {
        auto stream = memory_stream(text);
        return check_stream_line_limits(stream.get(), {.max_line_bytes = max}).has_value();
    };
    for (std::size_t max : {1u, 2u, 10u, 100u}) {
        for (std::size_t n = 0; n <= max + 2; ++n) {
            const std::string line(n, 'x');
            EXPECT_EQ(judged("a\n" + line + "\nb\n", max), n <= max) << max << " " << n;
            EXPECT_EQ(judged(line, max), n <= max) << max << " " << n;
            EXPECT_EQ(judged(line + "\n" + line + "\n", max), n <= max) << max << " " << n;
        }
    }
    const std::size_t mib = 1 << 20;
    std::string lines;  // lines of 100 bytes until a 2.5 MiB line that crosses two block ends
    while (lines.size() < mib - 50) lines += std::string(99, 'y') + "\n";
    const std::string across = lines + std::string(mib * 5 / 2, 'z') + "\nend\n";
    EXPECT_TRUE(judged(across, 3 * mib));
    EXPECT_FALSE(judged(across, mib * 5 / 2 - 1));
    EXPECT_TRUE(judged(across, mib * 5 / 2));
    EXPECT_TRUE(judged(lines + lines + lines, 99));
    EXPECT_FALSE(judged(lines + lines + lines, 98));
}

}  // namespace
}  // namespace keyfence::mail::mime
