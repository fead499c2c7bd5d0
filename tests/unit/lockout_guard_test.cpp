// The lockout guard against every combination of the token's PIN flags. (The virtual OpenPGP
// card tests it end to end; SoftHSM never sets FINAL_TRY or LOCKED.)

#include "token/pin/lockout_guard.hpp"
#include "token/pin/pin_source.hpp"

#include <gtest/gtest.h>

namespace keyfence::token {
namespace {
using base::ErrorCode;

pkcs11::TokenInfo token_with(CK_FLAGS flags) {
    pkcs11::TokenInfo t;
    t.label = "card";
    t.model = "PKCS#15";
    t.serial = "42";
    t.present = true;
    t.pin = pkcs11::PinFlags::from(flags | CKF_LOGIN_REQUIRED | CKF_TOKEN_INITIALIZED);
    return t;
}

TEST(LockoutGuard, LetsAFreshTokenLogIn) {
    EXPECT_TRUE(check_lockout(token_with(0), {}));
    EXPECT_TRUE(check_lockout(token_with(CKF_USER_PIN_COUNT_LOW), {}));
}

TEST(LockoutGuard, RefusesTheFinalTryUnlessAllowed) {
    const auto t = token_with(CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW);
    auto refused = check_lockout(t, {});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::LastTryRefused);
    EXPECT_EQ(refused.error().retries_left, 1);
    EXPECT_NE(refused.error().hint.find("--allow-last-pin-try"), std::string::npos);
    EXPECT_TRUE(check_lockout(t, LockoutOptions{.allow_last_pin_try = true}));
}

TEST(LockoutGuard, LockedStaysRefusedEvenWhenTheLastTryIsAllowed) {
    const auto t = token_with(CKF_USER_PIN_LOCKED | CKF_USER_PIN_FINAL_TRY);
    auto refused = check_lockout(t, LockoutOptions{.allow_last_pin_try = true});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::PinLocked);
    EXPECT_EQ(refused.error().retries_left, 0);
    EXPECT_NE(refused.error().hint.find("unblock"), std::string::npos);
    EXPECT_NE(refused.error().context.find("no PIN was sent"), std::string::npos);
}

TEST(LockoutGuard, RejectedPinReportsTheStateAfterwards) {
    base::Error token_error(ErrorCode::PinIncorrect, "login");
    auto after_final = rejected_pin_error(token_with(CKF_USER_PIN_FINAL_TRY), token_error);
    EXPECT_EQ(after_final.code, ErrorCode::PinIncorrect);
    EXPECT_EQ(after_final.retries_left, 1);
    EXPECT_NE(after_final.hint.find("--allow-last-pin-try"), std::string::npos);

    auto after_lock = rejected_pin_error(token_with(CKF_USER_PIN_LOCKED), token_error);
    EXPECT_EQ(after_lock.code, ErrorCode::PinLocked);
    EXPECT_NE(after_lock.context.find("now locked"), std::string::npos);

    auto plain = rejected_pin_error(token_with(CKF_USER_PIN_COUNT_LOW), token_error);
    EXPECT_NE(plain.context.find("one try was spent"), std::string::npos);
    EXPECT_NE(plain.hint.find("never retries"), std::string::npos);
}

TEST(PinRequest, DescriptionNamesTokenKeyOperationAndMessage) {
    PinRequest r;
    r.token_label = "YubiKey PIV";
    r.token_model = "YubiKey 5";
    r.token_manufacturer = "Yubico";
    r.token_serial = "1234";
    r.key_label = "Signature key";
    r.key_fingerprint = "0123456789abcdef0123";
    r.operation = "sign";
    r.summary = {{"SHA-256", "ab12"}, {"Content", "report.pdf"}};
    r.final_try = true;
    const std::string d = r.description();
    for (const char* part : {"sign", "Signature key", "YubiKey PIV", "1234", "SHA-256: ab12",
                             "report.pdf", "LAST try"}) {
        EXPECT_NE(d.find(part), std::string::npos) << part << " missing in:\n" << d;
    }
}

}  // namespace
}  // namespace keyfence::token
