#include "base/result.hpp"

#include <gtest/gtest.h>

namespace keyfence::base {
namespace {

Result<int> parse_positive(int v) {
    if (v <= 0) return Error(ErrorCode::BadInput, "not positive", "give a positive number");
    return v;
}

Result<int> doubled(int v) {
    KEYFENCE_TRY_ASSIGN(x, parse_positive(v));
    return x * 2;
}

Status check(int v) {
    KEYFENCE_TRY(parse_positive(v));
    return {};
}

TEST(Result, CarriesValueOrError) {
    auto ok = doubled(21);
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 42);
    auto bad = doubled(-1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::BadInput);
    EXPECT_EQ(bad.error().hint, "give a positive number");
    EXPECT_TRUE(check(3));
    EXPECT_EQ(check(0).error().context, "not positive");
}

TEST(Error, MessageNamesTheOriginCode) {
    Error e(ErrorCode::PinIncorrect, "the PIN was wrong");
    EXPECT_EQ(e.message(), "the PIN was wrong");
    e.from(Origin::Pkcs11, 0xa0, "CKR_PIN_INCORRECT");
    EXPECT_EQ(e.message(), "the PIN was wrong (CKR_PIN_INCORRECT)");
    Error sw(ErrorCode::PinIncorrect, "VERIFY failed");
    sw.from(Origin::Iso7816, 0x63c2);
    EXPECT_EQ(sw.message(), "VERIFY failed (iso7816 0x63c2)");
    EXPECT_EQ(code_name(ErrorCode::LastTryRefused), "last_try_refused");
}

TEST(Error, SystemErrorNamesErrno) {
    Error e = system_error(ErrorCode::Io, "could not open x", ENOENT);
    EXPECT_NE(e.message().find("No such file"), std::string::npos);
    EXPECT_EQ(e.raw, static_cast<std::uint64_t>(ENOENT));
}

}  // namespace
}  // namespace keyfence::base
