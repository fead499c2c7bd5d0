#include "base/pin.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include "base/process_hardening.hpp"
#include "base/secure_buffer.hpp"

namespace keyfence::base {
namespace {

// A Pin can be moved but never copied, and never converted to a string.
static_assert(!std::is_copy_constructible_v<Pin>);
static_assert(!std::is_copy_assignable_v<Pin>);
static_assert(std::is_nothrow_move_constructible_v<Pin>);
static_assert(!std::is_convertible_v<Pin, std::string>);
static_assert(!std::is_constructible_v<std::string, Pin>);
static_assert(!std::is_copy_constructible_v<SecureBuffer>);
static_assert(is_secret_v<Pin> && is_secret_v<const SecureBuffer&>);

class PinTest : public ::testing::Test {
  protected:
    void SetUp() override { (void)init_secure_heap(); }
};

TEST_F(PinTest, LivesOnTheLockedSecureHeap) {
    Pin pin;
    for (char c : std::string("123456")) ASSERT_TRUE(pin.push_back(static_cast<std::uint8_t>(c)));
    EXPECT_TRUE(pin.is_locked());
    EXPECT_EQ(pin.size(), 6u);
    EXPECT_EQ(std::string(pin.bytes().begin(), pin.bytes().end()), "123456");
}

TEST_F(PinTest, MoveLeavesTheSourceEmpty) {
    Pin a;
    a.push_back('7');
    Pin b(std::move(a));
    EXPECT_EQ(b.size(), 1u);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
}

TEST_F(PinTest, RefusesBytesPastItsCapacity) {
    SecureBuffer buffer(3);
    EXPECT_TRUE(buffer.push_back(1));
    EXPECT_TRUE(buffer.push_back(2));
    EXPECT_TRUE(buffer.push_back(3));
    EXPECT_FALSE(buffer.push_back(4));
    buffer.pop_back();
    EXPECT_EQ(buffer.size(), 2u);
    buffer.clear();
    EXPECT_TRUE(buffer.empty());
}

TEST(ProcessHardening, MakesTheProcessUndumpable) {
    (void)harden_process();
    EXPECT_TRUE(SecureBuffer(8).is_locked());
}

}  // namespace
}  // namespace keyfence::base
