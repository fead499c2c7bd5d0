// BER-TLV and APDU parsing (ISO 7816-4 §5.1, §5.2).
#include "apdu.hpp"
#include "status_word.hpp"
#include "tlv.hpp"

#include <gtest/gtest.h>

namespace keyfence::vcard {
namespace {

TEST(Tlv, RoundTripsMultiByteTagsAndLongLengths) {
    Bytes value(300, 0xAB);
    Bytes enc = make_tlv(0x7F49, value);
    EXPECT_EQ(enc[0], 0x7F);
    EXPECT_EQ(enc[1], 0x49);
    EXPECT_EQ(enc[2], 0x82);
    auto parsed = parse_tlvs(enc);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->size(), 1u);
    EXPECT_EQ((*parsed)[0].tag, 0x7F49u);
    EXPECT_TRUE((*parsed)[0].constructed);
    EXPECT_EQ((*parsed)[0].value.size(), 300u);
}

TEST(Tlv, RejectsTruncatedInput) {
    EXPECT_FALSE(parse_tlvs(*from_hex("5F")));
    EXPECT_FALSE(parse_tlvs(*from_hex("4F 05 01 02")));
    EXPECT_FALSE(parse_tlvs(*from_hex("4F 82 01")));
    EXPECT_TRUE(parse_tlvs(*from_hex("4F 00 5B 01 41")));
}

TEST(Apdu, ParsesAllCases) {
    auto c1 = parse_command_apdu(*from_hex("00 E6 00 00"));
    ASSERT_TRUE(c1);
    EXPECT_FALSE(c1->le_present);
    auto c2 = parse_command_apdu(*from_hex("00 CA 00 6E 00"));
    ASSERT_TRUE(c2);
    EXPECT_EQ(c2->le, 256u);
    auto c3 = parse_command_apdu(*from_hex("00 20 00 81 06 31 32 33 34 35 36"));
    ASSERT_TRUE(c3);
    EXPECT_EQ(c3->data.size(), 6u);
    EXPECT_FALSE(c3->le_present);
    auto c4 = parse_command_apdu(*from_hex("00 47 81 00 02 B6 00 00"));
    ASSERT_TRUE(c4);
    EXPECT_EQ(c4->le, 256u);
    auto c2e = parse_command_apdu(*from_hex("00 CA 7F 21 00 00 00"));
    ASSERT_TRUE(c2e);
    EXPECT_TRUE(c2e->extended);
    EXPECT_EQ(c2e->le, 65536u);
    auto c4e = parse_command_apdu(*from_hex("00 2A 9E 9A 00 00 02 AA BB 08 00"));
    ASSERT_TRUE(c4e);
    EXPECT_EQ(c4e->data.size(), 2u);
    EXPECT_EQ(c4e->le, 0x0800u);
    EXPECT_FALSE(parse_command_apdu(*from_hex("00 20 00 81 06 31 32")));
    EXPECT_FALSE(parse_command_apdu(*from_hex("00 20 00")));
}

TEST(Apdu, SerializeParseRoundTrip) {
    CommandApdu a;
    a.ins = 0xDA;
    a.p1 = 0x7F;
    a.p2 = 0x21;
    a.data = Bytes(1000, 0x30);
    a.le_present = true;
    a.le = 65536;
    auto back = parse_command_apdu(serialize_command_apdu(a));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->data, a.data);
    EXPECT_EQ(back->le, 65536u);
}

TEST(StatusWords, TableNamesRangesAndCounts) {
    EXPECT_EQ(status_word_name(0x9000), "Ok");
    EXPECT_EQ(status_word_name(0x63C2), "PinTriesLeft");
    EXPECT_EQ(status_word_name(0x6110), "BytesRemaining");
    EXPECT_EQ(status_word_name(0x1234), "Unknown");
    EXPECT_EQ(bytes_remaining(300), 0x6100);
    EXPECT_EQ(bytes_remaining(16), 0x6110);
    EXPECT_EQ(pin_tries_left(3), 0x63C3);
}

}  // namespace
}  // namespace keyfence::vcard
