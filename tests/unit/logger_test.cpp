#include "base/logger.hpp"

#include <gtest/gtest.h>

namespace keyfence::base {
namespace {

TEST(Logger, RedactsPinsInUrisAndAssignments) {
    EXPECT_EQ(redact("pkcs11:token=t;object=k;pin-value=123456"),
              "pkcs11:token=t;object=k;pin-value=[redacted]");
    EXPECT_EQ(redact("pkcs11:token=t?pin-source=file:/tmp/p"),
              "pkcs11:token=t?pin-source=[redacted]");
    EXPECT_EQ(redact("login with PIN=0000 failed"), "login with PIN=[redacted] failed");
    EXPECT_EQ(redact("nothing secret here"), "nothing secret here");
}

TEST(Logger, WritesRedactedLinesAtOrBelowTheLevel) {
    set_log_level(LogLevel::Info);
    ::testing::internal::CaptureStderr();
    log_info("uri ", "pkcs11:pin-value=999999", " count ", 3);
    log_debug("hidden at info level");
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "keyfence: info: uri pkcs11:pin-value=[redacted] count 3\n");
    set_log_level(LogLevel::Warn);
}

// A Pin passed to the logger does not compile (static_assert in detail::concat); the
// type trait it relies on is checked here.
static_assert(is_secret_v<Pin>);
static_assert(!is_secret_v<std::string>);

}  // namespace
}  // namespace keyfence::base
