#include "cli/exit_codes.hpp"

#include <gtest/gtest.h>

#include <string>

namespace keyfence::cli {
namespace {
using base::Error;
using base::ErrorCode;

TEST(ExitCodes, FollowTheDocumentedTable) {
    const std::pair<ErrorCode, int> table[] = {
        {ErrorCode::VerifyFailed, 1}, {ErrorCode::Usage, 2},          {ErrorCode::PinIncorrect, 3},
        {ErrorCode::PinLocked, 4},    {ErrorCode::LastTryRefused, 4}, {ErrorCode::TokenAbsent, 5},
        {ErrorCode::KeyNotFound, 5},  {ErrorCode::Ambiguous, 5},      {ErrorCode::TokenRemoved, 5},
        {ErrorCode::PolicyDenied, 6}, {ErrorCode::BadInput, 7},       {ErrorCode::ModuleFailure, 8},
        {ErrorCode::Io, 8},           {ErrorCode::Cancelled, 8},      {ErrorCode::Internal, 8},
    };
    for (const auto& [code, exit] : table) {
        EXPECT_EQ(exit_code_for(Error(code, "x")), exit) << base::code_name(code);
    }
}

TEST(ExitCodes, TableTextListsEveryCode) {
    const std::string text = exit_code_table();
    for (int code = 0; code <= 8; ++code) {
        EXPECT_NE(text.find("  " + std::to_string(code) + "  "), std::string::npos) << code;
    }
}

TEST(ExitCodes, ReportsRedactHintsAndMessages) {
    ::testing::internal::CaptureStderr();
    report_error(Error(ErrorCode::Usage, "bad uri pkcs11:pin-value=1234", "drop pin-value=1234"));
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.find("1234"), std::string::npos) << err;
    EXPECT_NE(err.find("what to do:"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::cli
