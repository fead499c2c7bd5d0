#include "token/pkcs11/ckr.hpp"

#include <gtest/gtest.h>

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

TEST(CkrTable, MapsReturnValuesToWhatTheCallerDoesNext) {
    EXPECT_EQ(ckr_entry(CKR_PIN_INCORRECT).code, ErrorCode::PinIncorrect);
    EXPECT_EQ(ckr_entry(CKR_PIN_LOCKED).code, ErrorCode::PinLocked);
    EXPECT_EQ(ckr_entry(CKR_DEVICE_REMOVED).code, ErrorCode::TokenRemoved);
    EXPECT_EQ(ckr_entry(CKR_TOKEN_NOT_PRESENT).code, ErrorCode::TokenAbsent);
    EXPECT_EQ(ckr_entry(CKR_MECHANISM_INVALID).code, ErrorCode::Unsupported);
    EXPECT_EQ(ckr_entry(CKR_FUNCTION_CANCELED).code, ErrorCode::Cancelled);
    EXPECT_EQ(ckr_entry(CKR_PIN_LEN_RANGE).code, ErrorCode::PinInvalid);
}

TEST(CkrTable, ErrorsCarryNameDescriptionAndRawValue) {
    base::Error e = pkcs11_error(CKR_PIN_INCORRECT, "login failed");
    EXPECT_EQ(e.origin, base::Origin::Pkcs11);
    EXPECT_EQ(e.raw, CKR_PIN_INCORRECT);
    EXPECT_EQ(e.raw_name, "CKR_PIN_INCORRECT");
    EXPECT_EQ(e.message(), "login failed: the PIN is incorrect (CKR_PIN_INCORRECT)");
}

TEST(CkrTable, UnknownValuesAreNamedInHex) {
    base::Error e = pkcs11_error(0x80001234UL, "vendor call");
    EXPECT_EQ(e.code, ErrorCode::ModuleFailure);
    EXPECT_EQ(e.raw_name, "CKR 0x80001234");
}

}  // namespace
}  // namespace keyfence::token::pkcs11
