#include "token/openpgp/tlv.hpp"

#include <gtest/gtest.h>

#include "token/openpgp/application_data.hpp"

namespace keyfence::token::openpgp {
namespace {

TEST(Tlv, ParsesMultiByteTagsAndLongLengths) {
    std::vector<std::uint8_t> value(300, 0xAB);
    auto encoded = encode_tlv(0x7F49, value);
    EXPECT_EQ(encoded[0], 0x7F);
    EXPECT_EQ(encoded[2], 0x82);
    auto tlvs = parse_tlvs(encoded);
    ASSERT_TRUE(tlvs);
    ASSERT_EQ(tlvs->size(), 1u);
    EXPECT_EQ((*tlvs)[0].tag, 0x7F49u);
    EXPECT_TRUE((*tlvs)[0].constructed);
    EXPECT_EQ((*tlvs)[0].value.size(), 300u);
}

TEST(Tlv, FindsNestedObjects) {
    const auto inner = encode_tlv(0x93, std::vector<std::uint8_t>{0, 0, 7});
    const auto outer = encode_tlv(0x7A, inner);
    EXPECT_EQ(*parse_signature_counter(outer), 7u);
    auto missing = find_tlv(outer, 0xC4);
    ASSERT_TRUE(missing);
    EXPECT_FALSE(*missing);
}

TEST(Tlv, RefusesMalformedCardAnswers) {
    const std::vector<std::vector<std::uint8_t>> bad = {
        {0x5F},                    // truncated tag
        {0x5F, 0x52},              // missing length
        {0xC4, 0x05, 1, 2},        // length past the end
        {0xC4, 0x82, 0x01},        // truncated long length
        {0xC4, 0x84, 0, 0, 0, 1},  // unsupported length form
        {0x7F, 0xFF, 0xFF, 0x01},  // tag too long
    };
    for (const auto& b : bad) {
        auto r = parse_tlvs(b);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, base::ErrorCode::BadInput);
    }
    // Deep nesting stops at the bound instead of recursing without end.
    std::vector<std::uint8_t> deep = {0x01, 0x00};
    for (int i = 0; i < 20; ++i) deep = encode_tlv(0x20, deep);
    EXPECT_FALSE(find_tlv(deep, 0x99));
}

TEST(ApplicationData, RejectsAForeignAid) {
    ApplicationData data;
    std::vector<std::uint8_t> aid(16, 0);
    EXPECT_FALSE(parse_aid(aid, data));
    EXPECT_FALSE(parse_pin_status(std::vector<std::uint8_t>{0, 1, 2}));
    EXPECT_EQ(parse_algorithm_attributes(std::vector<std::uint8_t>{0x16, 1, 2, 3}).kind,
              AlgorithmAttributes::Kind::Unknown);
}

}  // namespace
}  // namespace keyfence::token::openpgp
