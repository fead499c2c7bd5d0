// Password rules: VERIFY, error counters, blocking, RESET RETRY COUNTER, CHANGE REFERENCE
// DATA, single-use PW1 for signing, and loss of verification on reset (OpenPGP card 3.4 §4.3).
#include "card_fixture.hpp"

namespace keyfence::vcard::test {
namespace {

std::uint8_t pw1_counter(Card& card) {
    return card.state().pw1.tries;
}

TEST_F(CardTest, VerifyStatusQueryReportsTriesLeft) {
    EXPECT_EQ(send(0x20, 0, 0x81).sw, 0x63C3);
    EXPECT_EQ(send(0x20, 0, 0x83).sw, 0x63C3);
    verify_ok(0x82, "123456");
    EXPECT_EQ(send(0x20, 0, 0x82).sw, 0x9000);
    EXPECT_EQ(send(0x20, 0, 0x81).sw, 0x63C3);  // 81 and 82 are separate access states
}

TEST_F(CardTest, WrongPinCountsDownAndBlocks) {
    EXPECT_EQ(send(0x20, 0, 0x81, bytes_of("000000")).sw, 0x6982);
    EXPECT_EQ(send(0x20, 0, 0x81).sw, 0x63C2);
    EXPECT_EQ(send(0x20, 0, 0x82, bytes_of("000001")).sw, 0x6982);
    EXPECT_EQ(send(0x20, 0, 0x81).sw, 0x63C1);
    EXPECT_EQ(send(0x20, 0, 0x81, bytes_of("000002")).sw, 0x6982);
    EXPECT_EQ(pw1_counter(card), 0);
    EXPECT_EQ(send(0x20, 0, 0x81).sw, 0x63C0);
    // Blocked stays blocked, even with the right PIN.
    EXPECT_EQ(send(0x20, 0, 0x81, bytes_of("123456")).sw, 0x6983);
    EXPECT_EQ(send(0x20, 0, 0x82, bytes_of("123456")).sw, 0x6983);
    EXPECT_EQ(to_hex(send(0xCA, 0, 0xC4, {}, 256).data), "007f7f7f000003");
    card.reset();
    EXPECT_EQ(send(0x20, 0, 0x81, bytes_of("123456")).sw, 0x6983);
}

TEST_F(CardTest, CorrectPinRestoresCounter) {
    EXPECT_EQ(send(0x20, 0, 0x81, bytes_of("000000")).sw, 0x6982);
    EXPECT_EQ(send(0x20, 0, 0x81, bytes_of("000000")).sw, 0x6982);
    EXPECT_EQ(pw1_counter(card), 1);
    verify_ok(0x81, "123456");
    EXPECT_EQ(pw1_counter(card), 3);
}

TEST_F(CardTest, ResetRetryCounterWithPw3) {
    for (int i = 0; i < 3; ++i) send(0x20, 0, 0x81, bytes_of("999999"));
    EXPECT_EQ(send(0x2C, 0x02, 0x81, bytes_of("111111")).sw, 0x6982);  // PW3 not verified
    verify_ok(0x83, "12345678");
    EXPECT_EQ(send(0x2C, 0x02, 0x81, bytes_of("123")).sw, 0x6A80);  // too short
    EXPECT_EQ(send(0x2C, 0x02, 0x81, bytes_of("111111")).sw, 0x9000);
    EXPECT_EQ(pw1_counter(card), 3);
    verify_ok(0x82, "111111");
}

TEST_F(CardTest, ResetRetryCounterWithResettingCode) {
    EXPECT_EQ(send(0x2C, 0x00, 0x81,
                   bytes_of("12345678"
                            "222222"))
                  .sw,
              0x6983);  // no RC set
    verify_ok(0x83, "12345678");
    EXPECT_EQ(send(0xDA, 0x00, 0xD3, bytes_of("short")).sw, 0x6700);
    ASSERT_EQ(send(0xDA, 0x00, 0xD3, bytes_of("reset-me")).sw, 0x9000);
    EXPECT_EQ(to_hex(send(0xCA, 0, 0xC4, {}, 256).data), "007f7f7f030303");
    for (int i = 0; i < 3; ++i) send(0x20, 0, 0x81, bytes_of("999999"));
    EXPECT_EQ(send(0x2C, 0x00, 0x81,
                   bytes_of("reset-mX"
                            "222222"))
                  .sw,
              0x6982);
    EXPECT_EQ(card.state().reset_code.tries, 2);
    EXPECT_EQ(send(0x2C, 0x00, 0x81,
                   bytes_of("reset-me"
                            "222222"))
                  .sw,
              0x9000);
    EXPECT_EQ(card.state().reset_code.tries, 3);
    verify_ok(0x81, "222222");
}

TEST_F(CardTest, ChangeReferenceData) {
    EXPECT_EQ(send(0x24, 0, 0x81,
                   bytes_of("654321"
                            "111111"))
                  .sw,
              0x6982);
    EXPECT_EQ(pw1_counter(card), 2);
    EXPECT_EQ(send(0x24, 0, 0x81,
                   bytes_of("123456"
                            "1111"))
                  .sw,
              0x6A80);
    EXPECT_EQ(send(0x24, 0, 0x81,
                   bytes_of("123456"
                            "abcdefgh"))
                  .sw,
              0x9000);
    EXPECT_EQ(pw1_counter(card), 3);
    EXPECT_EQ(send(0x20, 0, 0x82, bytes_of("123456")).sw, 0x6982);
    verify_ok(0x82, "abcdefgh");
    EXPECT_EQ(send(0x24, 0, 0x83,
                   bytes_of("12345678"
                            "admin-pin-2"))
                  .sw,
              0x9000);
    verify_ok(0x83, "admin-pin-2");
}

TEST_F(CardTest, VerificationLostOnResetAndPowerOff) {
    verify_ok(0x82, "123456");
    verify_ok(0x83, "12345678");
    card.reset();
    EXPECT_EQ(send(0x20, 0, 0x82).sw, 0x63C3);
    EXPECT_EQ(send(0x20, 0, 0x83).sw, 0x63C3);
    verify_ok(0x82, "123456");
    card.power_off();
    card.power_on();
    EXPECT_EQ(send(0x20, 0, 0x82).sw, 0x63C3);
}

TEST_F(CardTest, VerifyResetStateWithP1FF) {
    verify_ok(0x83, "12345678");
    EXPECT_EQ(send(0x20, 0xFF, 0x83).sw, 0x9000);
    EXPECT_EQ(send(0x20, 0, 0x83).sw, 0x63C3);
}

TEST_F(CardTest, Pw1ForSigningIsSingleUseByDefault) {
    set_attributes(KeySlot::Signature, AlgorithmAttributes::ecc(Curve::P256, KeySlot::Signature));
    ASSERT_TRUE(generate(KeySlot::Signature));
    Bytes hash = sha256(bytes_of("hello"));
    verify_ok(0x81, "123456");
    EXPECT_EQ(send(0x2A, 0x9E, 0x9A, hash, 256).sw, 0x9000);
    EXPECT_EQ(send(0x2A, 0x9E, 0x9A, hash, 256).sw, 0x6982);
    // PW status byte 1 = 01: several signatures per VERIFY.
    ASSERT_EQ(send(0xDA, 0x00, 0xC4, Bytes{0x01}).sw, 0x9000);
    verify_ok(0x81, "123456");
    EXPECT_EQ(send(0x2A, 0x9E, 0x9A, hash, 256).sw, 0x9000);
    EXPECT_EQ(send(0x2A, 0x9E, 0x9A, hash, 256).sw, 0x9000);
    EXPECT_EQ(send(0xDA, 0x00, 0xC4, Bytes{0x02}).sw, 0x6A80);
}

}  // namespace
}  // namespace keyfence::vcard::test
