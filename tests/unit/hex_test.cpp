// Bytes as text (base/hex.hpp): hex both ways and base64, against the RFCs' own vectors.

#include <gtest/gtest.h>

#include "base/hex.hpp"

namespace keyfence {
namespace {

TEST(Hex, RoundTripsAndRefusesWhatIsNotHex) {
    const std::vector<std::uint8_t> bytes{0x00, 0x9f, 0xA0, 0xff};
    EXPECT_EQ(base::to_hex(bytes), "009fa0ff");
    EXPECT_EQ(base::to_hex(bytes, ":"), "00:9f:a0:ff");
    EXPECT_EQ(base::from_hex("009FA0ff"), bytes);
    EXPECT_EQ(base::from_hex("00:9f:a0:ff"), bytes);
    EXPECT_FALSE(base::from_hex("0g"));
}

TEST(Base64, IsRfc4648sOnOneLine) {
    // RFC 4648 §10.
    EXPECT_EQ(base::to_base64(""), "");
    EXPECT_EQ(base::to_base64("f"), "Zg==");
    EXPECT_EQ(base::to_base64("fo"), "Zm8=");
    EXPECT_EQ(base::to_base64("foo"), "Zm9v");
    EXPECT_EQ(base::to_base64("foobar"), "Zm9vYmFy");
    const std::string long_one = base::to_base64(std::string(300, '\xff'));
    EXPECT_EQ(long_one.size(), 400u);
    EXPECT_EQ(long_one.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace keyfence
