// SELECT, GET DATA structure, PUT DATA access, class/instruction errors, factory reset.
#include "card_fixture.hpp"
#include "tlv.hpp"

namespace keyfence::vcard::test {
namespace {

TEST_F(CardTest, SelectOpenPgpWithAndWithoutFci) {
    Reply r = send_all(0xA4, 0x04, 0x00, *from_hex("D27600012401"));
    ASSERT_EQ(r.sw, 0x9000);
    auto fci = find_tlv(r.data, 0x6F);
    ASSERT_TRUE(fci);
    auto aid = find_tlv(fci->value, 0x84);
    ASSERT_TRUE(aid);
    EXPECT_EQ(Bytes(aid->value.begin(), aid->value.end()), card.state().aid());
    EXPECT_EQ(send_hex("00 A4 04 0C 06 D2 76 00 01 24 01").sw, 0x9000);
    // scdaemon sends SELECT without Le: no response data expected, plain 9000.
    Reply no_le = send_hex("00 A4 04 00 06 D2 76 00 01 24 01");
    EXPECT_EQ(no_le.sw, 0x9000);
    EXPECT_TRUE(no_le.data.empty());
}

TEST_F(CardTest, SelectOfOtherFilesAndApplicationsFails) {
    EXPECT_EQ(send_hex("00 A4 00 0C 02 3F 00").sw, 0x6A82);
    EXPECT_EQ(send_hex("00 A4 02 0C 02 2F 02").sw, 0x6A82);
    EXPECT_EQ(send_hex("00 A4 04 00 05 A0 00 00 03 08").sw, 0x6A82);     // PIV
    EXPECT_EQ(send_hex("00 A4 04 00 06 D2 76 00 01 24 02").sw, 0x6A82);  // other PIX
    EXPECT_EQ(send_hex("00 B0 00 00 00").sw, 0x6D00);
}

TEST_F(CardTest, AidCarriesVersionManufacturerAndSerial) {
    EXPECT_EQ(to_hex(card.state().aid()), "d276000124010304fffe123456780000");
    Reply r = send(0xCA, 0x00, 0x4F, {}, 256);
    EXPECT_EQ(r.sw, 0x9000);
    EXPECT_EQ(r.data, card.state().aid());
}

TEST_F(CardTest, ApplicationRelatedDataIsValidBerTlv) {
    Reply r = send_all(0xCA, 0x00, 0x6E);
    ASSERT_EQ(r.sw, 0x9000);
    auto top = parse_tlvs(r.data);
    ASSERT_TRUE(top);
    ASSERT_EQ(top->size(), 1u);
    ASSERT_EQ((*top)[0].tag, 0x6Eu);
    auto inner = parse_tlvs((*top)[0].value);
    ASSERT_TRUE(inner);
    auto get = [&](std::uint32_t tag) { return find_tlv((*top)[0].value, tag); };
    ASSERT_TRUE(get(0x4F));
    EXPECT_EQ(get(0x4F)->value.size(), 16u);
    ASSERT_TRUE(get(0x5F52));
    EXPECT_EQ(get(0x5F52)->value[0], 0x00);
    ASSERT_TRUE(get(0x7F66));
    ASSERT_TRUE(get(0x7F74));
    auto dd = get(0x73);
    ASSERT_TRUE(dd);
    struct Want {
        std::uint32_t tag;
        std::size_t size;
    };
    for (Want w : {Want{0xC0, 10}, Want{0xC1, 6}, Want{0xC2, 6}, Want{0xC3, 6}, Want{0xC4, 7},
                   Want{0xC5, 60}, Want{0xC6, 60}, Want{0xCD, 12}, Want{0xDE, 6}}) {
        auto t = find_tlv(dd->value, w.tag);
        ASSERT_TRUE(t) << std::hex << w.tag;
        EXPECT_EQ(t->value.size(), w.size) << std::hex << w.tag;
    }
    auto c4 = find_tlv(dd->value, 0xC4);
    EXPECT_EQ(to_hex(c4->value), "007f7f7f030003");
    auto c0 = find_tlv(dd->value, 0xC0);
    EXPECT_EQ(c0->value[0] & 0x74, 0x74);  // challenge, import, PW status, attrs changeable
}

TEST_F(CardTest, OtherDataObjects) {
    EXPECT_EQ(to_hex(send(0xCA, 0x00, 0xC4, {}, 256).data), "007f7f7f030003");
    EXPECT_EQ(to_hex(send(0xCA, 0x00, 0x7A, {}, 256).data), "7a059303000000");
    EXPECT_EQ(send(0xCA, 0x5F, 0x52, {}, 256).data, historical_bytes());
    Reply ext = send(0xCA, 0x7F, 0x66, {}, 256);
    EXPECT_EQ(to_hex(ext.data), "7f660802020bfe02020bfe");
    EXPECT_EQ(send(0xCA, 0x00, 0x65, {}, 256).sw, 0x9000);
    EXPECT_EQ(send(0xCA, 0x7F, 0x21, {}, 256).sw, 0x9000);
    EXPECT_EQ(send(0xCA, 0x01, 0x01, {}, 256).sw, 0x6A88);
    EXPECT_EQ(send(0xCA, 0x00, 0xF9, {}, 256).sw, 0x6A88);
}

TEST_F(CardTest, PutDataNeedsPw3) {
    EXPECT_EQ(send(0xDA, 0x00, 0x5B, bytes_of("Tester<<Test")).sw, 0x6982);
    verify_ok(0x83, "12345678");
    EXPECT_EQ(send(0xDA, 0x00, 0x5B, bytes_of("Tester<<Test")).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x5F, 0x50, bytes_of("https://example.org/key.asc")).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x00, 0xC7, Bytes(20, 0x11)).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x00, 0xC7, Bytes(19, 0x11)).sw, 0x6700);
    EXPECT_EQ(send(0xDA, 0x00, 0xCE, Bytes{0x60, 0, 0, 1}).sw, 0x9000);
    Reply cardholder = send(0xCA, 0x00, 0x65, {}, 256);
    auto name = find_tlv(find_tlv(cardholder.data, 0x65)->value, 0x5B);
    EXPECT_EQ(Bytes(name->value.begin(), name->value.end()), bytes_of("Tester<<Test"));
    EXPECT_EQ(send(0xCA, 0x5F, 0x50, {}, 256).data, bytes_of("https://example.org/key.asc"));
    Reply ard = send_all(0xCA, 0, 0x6E);
    auto dd = find_tlv(find_tlv(ard.data, 0x6E)->value, 0x73);
    auto c5 = find_tlv(dd->value, 0xC5);
    EXPECT_EQ(c5->value[0], 0x11);
    EXPECT_EQ(c5->value[20], 0x00);
}

TEST_F(CardTest, AlgorithmAttributesValidated) {
    verify_ok(0x83, "12345678");
    EXPECT_EQ(send(0xDA, 0x00, 0xC1, *from_hex("010400001100")).sw, 0x6A80);        // RSA-1024
    EXPECT_EQ(send(0xDA, 0x00, 0xC1, *from_hex("122a8648ce3d030107")).sw, 0x6A80);  // ECDH in sig
    EXPECT_EQ(send(0xDA, 0x00, 0xC1, *from_hex("132a8648ce3d030107")).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x00, 0xC2, *from_hex("122b060104019755010501")).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x00, 0xC3, *from_hex("162b06010401da470f01")).sw, 0x9000);
    EXPECT_EQ(to_hex(send(0xCA, 0x00, 0xC2, {}, 256).data), "122b060104019755010501");
}

TEST_F(CardTest, ClassAndLengthErrors) {
    EXPECT_EQ(send_hex("80 CA 00 6E 00").sw, 0x6E00);
    EXPECT_EQ(send_hex("0C CA 00 6E 00").sw, 0x6882);
    EXPECT_EQ(send_hex("00 20 00 81 06 31").sw, 0x6700);
    EXPECT_EQ(send_hex("00 12 00 00").sw, 0x6D00);
}

TEST_F(CardTest, GetChallengeReturnsLeRandomBytes) {
    Reply a = send(0x84, 0, 0, {}, 32);
    Reply b = send(0x84, 0, 0, {}, 32);
    EXPECT_EQ(a.sw, 0x9000);
    EXPECT_EQ(a.data.size(), 32u);
    EXPECT_NE(a.data, b.data);
    EXPECT_EQ(send_hex("00 84 00 00").sw, 0x6700);
}

TEST_F(CardTest, TerminateNeedsPw3VerifiedOrBlocked) {
    EXPECT_EQ(send_hex("00 E6 00 00").sw, 0x6982);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(send(0x20, 0, 0x83, bytes_of("bad-admin")).sw, 0x6982);
    EXPECT_EQ(send_hex("00 E6 00 00").sw, 0x9000);
    EXPECT_EQ(send_hex("00 A4 04 00 06 D2 76 00 01 24 01 00").sw, 0x6285);
    EXPECT_EQ(send_hex("00 CA 00 6E 00").sw, 0x6285);
}

TEST_F(CardTest, FactoryResetRestoresDefaults) {
    set_attributes(KeySlot::Signature, AlgorithmAttributes::ecc(Curve::P256, KeySlot::Signature));
    ASSERT_TRUE(generate(KeySlot::Signature));
    ASSERT_EQ(send(0xDA, 0x00, 0x5B, bytes_of("Someone")).sw, 0x9000);
    ASSERT_EQ(send(0x24, 0, 0x81,
                   bytes_of("123456"
                            "654321"))
                  .sw,
              0x9000);
    ASSERT_EQ(send_hex("00 E6 00 00").sw, 0x9000);  // PW3 verified by set_attributes
    ASSERT_EQ(send_hex("00 44 00 00").sw, 0x9000);
    EXPECT_FALSE(card.state().terminated);
    EXPECT_FALSE(card.state().slot(KeySlot::Signature).key);
    EXPECT_TRUE(card.state().name.empty());
    EXPECT_EQ(card.state().serial, 0x12345678u);
    EXPECT_EQ(to_hex(send(0xCA, 0x00, 0xC1, {}, 256).data), "010800001100");
    EXPECT_EQ(send(0x20, 0, 0x83, {}).sw, 0x63C3);  // PW3 state lost
    verify_ok(0x81, "123456");                      // default PIN again
    EXPECT_EQ(send_hex("00 44 00 00").sw, 0x9000);  // no effect when not terminated
}

}  // namespace
}  // namespace keyfence::vcard::test
