// Command chaining, GET RESPONSE splitting and extended length (ISO 7816-4 §5.1.1, §5.3.4).
#include "card_fixture.hpp"
#include "tlv.hpp"

namespace keyfence::vcard::test {
namespace {

TEST_F(CardTest, ShortLeSplitsResponseWith61xx) {
    Reply first = send(0xCA, 0x00, 0x6E, {}, 256);
    Reply whole = send_all(0xCA, 0x00, 0x6E, {}, 65536);
    ASSERT_EQ(whole.sw, 0x9000);
    ASSERT_GT(whole.data.size(), 32u);
    Reply small = send(0xCA, 0x00, 0x6E, {}, 16);
    ASSERT_EQ(small.data.size(), 16u);
    EXPECT_EQ(small.sw, bytes_remaining(whole.data.size() - 16));
    Bytes collected = small.data;
    Reply next = send(0xC0, 0, 0, {}, 16);
    EXPECT_EQ(next.data.size(), 16u);
    append(collected, next.data);
    Reply rest = send(0xC0, 0, 0, {}, 256);
    EXPECT_EQ(rest.sw, 0x9000);
    append(collected, rest.data);
    EXPECT_EQ(collected, whole.data);
    EXPECT_EQ(first.data, whole.data);
    EXPECT_EQ(send(0xC0, 0, 0, {}, 256).sw, 0x6985);  // nothing pending any more
}

TEST_F(CardTest, NoLeMeansNoResponseData) {
    Reply r = send_hex("00 CA 00 6E");  // case 1: ISO 7816-4, no data expected
    EXPECT_EQ(r.sw, 0x9000);
    EXPECT_TRUE(r.data.empty());
}

TEST_F(CardTest, GetResponseWithoutLeMakesProgress) {
    Reply r = send(0xCA, 0x00, 0x6E, {}, 8);
    ASSERT_EQ(r.sw & 0xFF00, 0x6100);
    Reply rest = send_hex("00 C0 00 00");
    EXPECT_EQ(rest.sw, 0x9000);
    EXPECT_FALSE(rest.data.empty());
}

TEST_F(CardTest, AnotherCommandDropsPendingResponse) {
    Reply small = send(0xCA, 0x00, 0x6E, {}, 16);
    ASSERT_EQ(small.sw & 0xFF00, 0x6100);
    ASSERT_EQ(send(0xCA, 0x00, 0xC4, {}, 256).sw, 0x9000);
    EXPECT_EQ(send(0xC0, 0, 0, {}, 256).sw, 0x6985);
}

TEST_F(CardTest, Rsa3072PublicKeyNeedsGetResponseWithShortApdus) {
    set_attributes(KeySlot::Decryption, AlgorithmAttributes::rsa(3072));
    ASSERT_TRUE(generate(KeySlot::Decryption));
    Reply r = send(0x47, 0x81, 0x00, {0xB8, 0x00}, 256);
    EXPECT_EQ(r.data.size(), 256u);
    EXPECT_EQ(r.sw & 0xFF00, 0x6100);
    Reply all = send_all(0x47, 0x81, 0x00, {0xB8, 0x00});
    ASSERT_EQ(all.sw, 0x9000);
    EXPECT_TRUE(public_key_from_template(all.data, AlgorithmAttributes::rsa(3072)));
}

TEST_F(CardTest, CommandChainingAssemblesData) {
    verify_ok(0x83, "12345678");
    Bytes cert(600);
    for (std::size_t i = 0; i < cert.size(); ++i) cert[i] = static_cast<std::uint8_t>(i);
    Bytes part1(cert.begin(), cert.begin() + 255), part2(cert.begin() + 255, cert.begin() + 510),
        part3(cert.begin() + 510, cert.end());
    EXPECT_EQ(send(0xDA, 0x7F, 0x21, part1, 0, 0x10).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x7F, 0x21, part2, 0, 0x10).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x7F, 0x21, part3).sw, 0x9000);
    Reply back = send_all(0xCA, 0x7F, 0x21);
    ASSERT_EQ(back.sw, 0x9000);
    EXPECT_EQ(back.data, cert);
}

TEST_F(CardTest, BrokenChainIsRejected) {
    verify_ok(0x83, "12345678");
    EXPECT_EQ(send(0xDA, 0x7F, 0x21, Bytes(10, 1), 0, 0x10).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x00, 0x5B, bytes_of("x")).sw, 0x6883);
    EXPECT_EQ(send(0xDA, 0x00, 0x5B, bytes_of("x")).sw, 0x9000);
}

TEST_F(CardTest, ChainedSignatureWithRsaDigestInfo) {
    EvpPkeyPtr pub = generate(KeySlot::Signature);
    ASSERT_TRUE(pub);
    verify_ok(0x81, "123456");
    Bytes di = sha256_digest_info(bytes_of("chained"));
    Bytes a(di.begin(), di.begin() + 20), b(di.begin() + 20, di.end());
    EXPECT_EQ(send(0x2A, 0x9E, 0x9A, a, 0, 0x10).sw, 0x9000);
    Reply sig = send_all(0x2A, 0x9E, 0x9A, b);
    ASSERT_EQ(sig.sw, 0x9000);
    EXPECT_TRUE(verify_card_signature(pub.get(), AlgorithmAttributes::rsa(2048), di, sig.data));
}

TEST_F(CardTest, SelectDataChoosesCertificateOccurrence) {
    verify_ok(0x83, "12345678");
    ASSERT_EQ(send(0xDA, 0x7F, 0x21, bytes_of("aut-cert")).sw, 0x9000);
    Bytes select_sig = *from_hex("60045C027F21");
    ASSERT_EQ(send(0xA5, 0x02, 0x04, select_sig).sw, 0x9000);
    ASSERT_EQ(send(0xDA, 0x7F, 0x21, bytes_of("sig-cert")).sw, 0x9000);
    EXPECT_EQ(send(0xCA, 0x7F, 0x21, {}, 256).data, bytes_of("sig-cert"));
    ASSERT_EQ(send(0xA5, 0x00, 0x04, select_sig).sw, 0x9000);
    EXPECT_EQ(send(0xCA, 0x7F, 0x21, {}, 256).data, bytes_of("aut-cert"));
}

TEST_F(CardTest, ExtendedLeReturnsEverythingAtOnce) {
    Reply r = send(0xCA, 0x00, 0x6E, {}, 65536);
    EXPECT_EQ(r.sw, 0x9000);
    EXPECT_TRUE(find_tlv(r.data, 0x6E));
}

}  // namespace
}  // namespace keyfence::vcard::test
