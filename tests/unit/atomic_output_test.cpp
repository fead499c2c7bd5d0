#include "base/atomic_output.hpp"

#include <gtest/gtest.h>

#include "tests/support/test_world.hpp"

namespace keyfence::base {
namespace {
namespace fs = std::filesystem;

TEST(AtomicOutput, AppearsOnlyOnCommit) {
    test::TempDir dir;
    const fs::path target = dir.path() / "sig.bin";
    {
        auto out = AtomicOutput::open(target.string());
        ASSERT_TRUE(out);
        ASSERT_TRUE(out->write(std::string_view("signature")));
        EXPECT_FALSE(fs::exists(target));
        ASSERT_TRUE(out->commit());
    }
    EXPECT_EQ(test::read_file(target), "signature");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicOutput, LeavesNothingWithoutCommit) {
    test::TempDir dir;
    const fs::path target = dir.path() / "out.txt";
    test::write_file(target, "old content");
    {
        auto out = AtomicOutput::open(target.string());
        ASSERT_TRUE(out);
        ASSERT_TRUE(out->write(std::string_view("partial")));
    }
    EXPECT_EQ(test::read_file(target), "old content");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicOutput, WritesBehindInOrderAndStillOnlyOnCommit) {
    test::TempDir dir;
    const fs::path target = dir.path() / "large.eml";
    std::string expected;
    {
        auto out = AtomicOutput::open(target.string());
        ASSERT_TRUE(out);
        out->start_write_behind();
        // Pieces of awkward sizes across the 1 MiB blocks, more than the queue holds.
        for (std::size_t i = 0; expected.size() < (9u << 20) + 12345; ++i) {
            const std::string piece((i * 7919) % 300000 + 1, static_cast<char>('a' + i % 26));
            expected += piece;
            ASSERT_TRUE(out->write(std::string_view(piece)));
        }
        EXPECT_FALSE(fs::exists(target));
        ASSERT_TRUE(out->commit());
    }
    EXPECT_TRUE(test::read_file(target) == expected);
    // Without commit, nothing, though a thread was writing.
    const fs::path other = dir.path() / "other.eml";
    {
        auto out = AtomicOutput::open(other.string());
        ASSERT_TRUE(out);
        out->start_write_behind();
        ASSERT_TRUE(out->write(std::string_view(expected)));
    }
    EXPECT_FALSE(fs::exists(other));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicOutput, ReportsAnUnwritableDirectory) {
    auto out = AtomicOutput::open("/nonexistent-dir/x");
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::Io);
    EXPECT_NE(out.error().message().find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::base
