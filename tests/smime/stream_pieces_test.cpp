// The streaming pieces of S/MIME on large messages, without a token: the delimiter scanner
// against its in-memory twin, the CRLF converter, base64 both ways against OpenSSL and GMime,
// the background hasher, and the canonical writer against GMime's own.

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <random>

#include "mail/mime/canonical.hpp"
#include "mail/mime/message.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/smime/stream_base64.hpp"
#include "mail/smime/stream_first_part.hpp"
#include "mail/smime/stream_hash.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

// The first part as the streaming scanner cuts it, fed in pieces of `piece` bytes.
base::Result<std::string> scanned(std::string_view entity, const std::string& boundary,
                                  std::size_t piece) {
    std::string out;
    mail::smime::FirstPartScanner scanner(boundary, [&](std::string_view b) { out.append(b); });
    for (std::size_t i = 0; i < entity.size(); i += piece) scanner.feed(entity.substr(i, piece));
    KEYFENCE_TRY(scanner.finish());
    return out;
}

TEST(FirstPartScanner, CutsWhatTheInMemoryCutterCutsInPiecesOfAnySize) {
    const std::string long_line(200000, 'x');
    const std::vector<std::string> bodies = {
        "Content-Type: text/plain\n\nline one\nline two\n",
        "Content-Type: text/plain\r\n\r\nCRLF\r\nlines\r\n\r\n",
        "Content-Type: text/plain\n\nmixed\r\nends\nlone\rCR\n\n\n",
        "Content-Type: text/plain\n\n" + long_line + "\r\n" + long_line + "\n",
        "Content-Type: text/plain\n\n--b is not the delimiter\n--bb neither\n",
        "Content-Type: text/plain\n\n",
    };
    for (const auto& body : bodies) {
        const std::string entity = "Content-Type: multipart/signed; boundary=b\n\npreamble\n--b\n" +
                                   body + "\n--b  \nsignature\n--b--\nepilogue\n";
        auto expected = mail::mime::first_body_part(entity, "b");
        ASSERT_TRUE(expected) << body.substr(0, 60);
        for (std::size_t piece : {1u, 2u, 3u, 7u, 4096u, 1u << 20}) {
            auto got = scanned(entity, "b", piece);
            ASSERT_TRUE(got) << piece;
            EXPECT_EQ(*got, *expected) << body.substr(0, 60) << " in pieces of " << piece;
        }
    }
    // No closing delimiter: an error, as in memory.
    const std::string open = "Content-Type: multipart/signed; boundary=b\n\n--b\nunfinished\n";
    EXPECT_FALSE(mail::mime::first_body_part(open, "b"));
    EXPECT_FALSE(scanned(open, "b", 5));
}

TEST(CrlfConverter, MakesBareLfsCrlfInPiecesOfAnySize) {
    const std::string input = "a\nb\r\nc\rd\n\n\r\r\nend\r";
    const std::string expected = "a\r\nb\r\nc\rd\r\n\r\n\r\r\nend\r";
    for (std::size_t piece : {1u, 2u, 3u, 5u, 100u}) {
        mail::mime::CrlfConverter crlf;
        std::string out;
        for (std::size_t i = 0; i < input.size(); i += piece)
            out += crlf.convert(input.substr(i, piece));
        EXPECT_EQ(out, expected) << piece;
    }
}

TEST(Base64Writer, WritesWhatOpenSslDecodesInLinesOf76) {
    std::mt19937 rng(7);
    for (std::size_t size : {0u, 1u, 56u, 57u, 58u, 57u * 16384u, 57u * 16384u + 5u, 3000001u}) {
        std::string raw(size, '\0');
        for (auto& c : raw) c = static_cast<char>(rng());
        std::string encoded;
        mail::smime::Base64Writer writer([&](std::string_view lines) {
            encoded.append(lines);
            return true;
        });
        for (std::size_t i = 0; i < raw.size(); i += 4093) {
            ASSERT_TRUE(writer.write(std::string_view(raw).substr(i, 4093)));
        }
        ASSERT_TRUE(writer.finish());
        std::string decoded;
        std::size_t lines = 0;
        for (std::size_t at = 0; at < encoded.size(); ++lines) {
            const std::size_t end = encoded.find("\r\n", at);
            ASSERT_NE(end, std::string::npos);
            const std::string line = encoded.substr(at, end - at);
            EXPECT_LE(line.size(), 76u);
            if (end + 2 < encoded.size()) {
                EXPECT_EQ(line.size(), 76u);
            }
            std::string block(line.size(), '\0');
            const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(block.data()),
                                          reinterpret_cast<const unsigned char*>(line.data()),
                                          static_cast<int>(line.size()));
            ASSERT_GE(n, 0);
            block.resize(static_cast<std::size_t>(n));
            // EVP_DecodeBlock keeps the padding's zero bytes.
            if (line.size() >= 2 && line.substr(line.size() - 2) == "==") {
                block.resize(static_cast<std::size_t>(n) - 2);
            } else if (!line.empty() && line.back() == '=') {
                block.resize(static_cast<std::size_t>(n) - 1);
            }
            decoded += block;
            at = end + 2;
        }
        EXPECT_EQ(lines, (size + 56) / 57);
        EXPECT_EQ(decoded, raw) << size;
    }
}

// GMime's decoder over the whole input in one call: what Base64Decoder must give in any pieces.
std::string gmime_decoded(std::string_view text) {
    std::string out(text.size() + 8, '\0');
    int state = 0;
    guint32 save = 0;
    const std::size_t n = g_mime_encoding_base64_decode_step(
        reinterpret_cast<const unsigned char*>(text.data()), text.size(),
        reinterpret_cast<unsigned char*>(out.data()), &state, &save);
    out.resize(n);
    return out;
}

TEST(Base64Decoder, DecodesAsGMimeDoesInPiecesOfAnySize) {
    std::mt19937 rng(11);
    std::vector<std::string> texts = {
        "",
        "aGk=",
        "aGk",
        "aGVsbG8=",
        "aGVsbG8h",
        "aGVs\r\nbG8=\r\n",
        "a G V s b G 8 =",
        "aGk=\n\n",
        "aA==",
        "aA=\n=",
        "*junk*aGk!=",
        "aGk=aGk=",
        "aGVsbG8gd29ybGQ=\r\n\r\n",
        "====",
        "a",
        "ab",
        "abc",
        "abcd=",
    };
    // Lines of 76 with CRLF and with LF, and random bytes from base64's alphabet and beyond.
    for (std::size_t size : {57u * 100u + 1u, 57u * 16384u + 2u}) {
        std::string raw(size, '\0');
        for (auto& c : raw) c = static_cast<char>(rng());
        std::string lines;
        mail::smime::Base64Writer writer([&](std::string_view l) {
            lines.append(l);
            return true;
        });
        ASSERT_TRUE(writer.write(raw) && writer.finish());
        EXPECT_EQ(gmime_decoded(lines), raw);
        texts.push_back(lines);
        std::string lf = lines;
        lf.erase(std::remove(lf.begin(), lf.end(), '\r'), lf.end());
        texts.push_back(lf);
    }
    const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n \t.-";
    for (int i = 0; i < 400; ++i) {
        std::string junk(rng() % 160, '\0');
        // Mostly alphabet (whole 32-character runs), now and then anything at all.
        for (auto& c : junk) {
            c = rng() % 50 == 0 ? static_cast<char>(rng()) : alphabet[rng() % 64];
        }
        if (i % 3 == 0 && !junk.empty())
            junk[rng() % junk.size()] = alphabet[rng() % alphabet.size()];
        texts.push_back(junk);
    }
    for (const auto& text : texts) {
        const std::string expected = gmime_decoded(text);
        for (std::size_t piece : {1u, 3u, 5u, 77u, 4096u, 1u << 20}) {
            mail::smime::Base64Decoder decoder;
            std::string out;
            for (std::size_t i = 0; i < text.size(); i += piece) {
                out += decoder.decode(std::string_view(text).substr(i, piece));
            }
            out += decoder.finish();
            ASSERT_EQ(out, expected) << "\"" << text.substr(0, 80) << "\" in pieces of " << piece;
            EXPECT_EQ(decoder.decoded(), out.size());
        }
    }
}

TEST(BackgroundHasher, HashesAndHandsOnEveryByteInOrder) {
    std::mt19937 rng(11);
    std::string data(5'000'000, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    std::string handed;
    mail::smime::BackgroundHasher hasher({EVP_sha384(), EVP_sha256()},
                                         [&handed](std::string_view b) {
                                             handed.append(b);
                                             return true;
                                         });
    for (std::size_t at = 0; at < data.size(); at += 777'777) {
        hasher.update(std::string_view(data).substr(at, 777'777));
    }
    const auto digests = hasher.final();
    EXPECT_FALSE(hasher.sink_failed());
    EXPECT_TRUE(handed == data);
    mail::smime::Hasher sha384(EVP_sha384()), sha256(EVP_sha256());
    sha384.update(data);
    sha256.update(data);
    ASSERT_EQ(digests.size(), 2u);
    EXPECT_EQ(digests[0], sha384.final());
    EXPECT_EQ(digests[1], sha256.final());

    // A sink that fails is told nothing more, and final() says so.
    int calls = 0;
    mail::smime::BackgroundHasher failing({EVP_sha256()}, [&calls](std::string_view) {
        ++calls;
        return false;
    });
    failing.update(data);
    failing.final();
    EXPECT_TRUE(failing.sink_failed());
    EXPECT_EQ(calls, 1);
}

TEST(BackgroundHasher, FinishHandsOverHashesThatGoOnOverMore) {
    // The one-pass PGP signer: the body's SHA-256 for the prompt, then the same state over the
    // signature's trailer for the digest signed.
    const std::string body(3'000'000, 'b');
    mail::smime::BackgroundHasher hasher({EVP_sha256()}, {});
    hasher.update(body);
    std::vector<mail::smime::Hasher> hashes = hasher.finish();
    ASSERT_EQ(hashes.size(), 1u);
    const auto so_far = hashes[0].so_far();
    ASSERT_TRUE(so_far);
    hashes[0].update("trailer");
    mail::smime::Hasher body_only(EVP_sha256()), both(EVP_sha256());
    body_only.update(body);
    both.update(body + "trailer");
    EXPECT_EQ(*so_far, body_only.final());
    EXPECT_EQ(hashes[0].final(), both.final());
}

// The streaming canonical writer copies large parts itself; it must write exactly what GMime
// writes, line ends, missing final newlines and all.
TEST(WriteCanonical, CopiesLargePartsAsGMimeWritesThem) {
    TempDir dir;
    std::string big;  // 300 kB in lines of 75 bytes, LF and CRLF line ends
    for (int i = 0; i < 4000; ++i) big += std::string(75, 'a' + i % 26) + (i % 7 ? "\n" : "\r\n");
    big.pop_back();
    std::string
        mega;  // 1 MiB + 1 exactly up to its CR: the CR ends a 1 MiB block, its LF opens the next
    while (mega.size() < (1u << 20) - 80) mega += std::string(79, 'y') + "\n";
    mega += std::string((1u << 20) - 1 - mega.size(), 'z');
    const std::vector<std::string> contents = {
        big,                    // no final newline
        big + "\n",             // a final LF
        "\n" + big + "\r\n\n",  // blank lines at both ends
        mega + "\r\n" + big,    // CR at a block's end, LF after it
    };
    for (const auto& content : contents) {
        for (const char* encoding : {"7bit", "base64", "binary"}) {
            const std::string message =
                "From: a@example.org\nMIME-Version: 1.0\n"
                "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n"
                "Content-Transfer-Encoding: " +
                std::string(encoding) + "\n\n" + content +
                "\n--b\nContent-Type: text/plain\n\nsmall\n--b--\n";
            const fs::path file = dir.path() / "canonical.eml";
            {
                std::ofstream out(file, std::ios::binary);
                out << message;
            }
            auto in_memory = mail::mime::Message::parse(message);
            auto from_file = mail::mime::Message::parse_file(file.string());
            ASSERT_TRUE(in_memory) << in_memory.error().context;
            ASSERT_TRUE(from_file) << from_file.error().context;
            const std::string expected = mail::mime::canonical_bytes(in_memory->body());
            std::string streamed;
            auto sink = mail::mime::sink_stream([&](std::string_view b) {
                streamed.append(b);
                return true;
            });
            ASSERT_TRUE(mail::mime::write_canonical(from_file->body(), sink.get()));
            EXPECT_EQ(streamed.size(), expected.size()) << encoding;
            EXPECT_TRUE(streamed == expected) << encoding;
            // The parts' contents are back in place afterwards.
            EXPECT_EQ(mail::mime::canonical_bytes(from_file->body()), expected);
        }
    }
}

}  // namespace
}  // namespace keyfence::test
