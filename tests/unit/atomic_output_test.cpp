#include "base/atomic_output.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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

// Write-behind writes whole blocks with O_DIRECT where the file system takes it (the temporary
// directory here, on disk) and through the page cache where it does not (tmpfs refuses O_DIRECT
// on some kernels): the file is the same byte for byte either way, the last partial block too.
TEST(AtomicOutput, WritesBehindTheSameBytesWithOrWithoutDirectIo) {
    test::TempDir disk;
    std::vector<fs::path> dirs{disk.path()};
    std::error_code ec;
    const fs::path shm = fs::path("/dev/shm") / ("keyfence-ao-" + std::to_string(::getpid()));
    if (fs::create_directory(shm, ec)) dirs.push_back(shm);
    std::string expected;
    for (std::size_t i = 0; expected.size() < (3u << 20) + 4097; ++i) {
        expected += std::string(4096 + (i * 131) % 5000, static_cast<char>('A' + i % 26));
    }
    for (const auto& dir : dirs) {
        const fs::path target = dir / "direct.eml";
        auto out = AtomicOutput::open(target.string());
        ASSERT_TRUE(out);
        out->start_write_behind();
        // A head of an odd size first, as the signers write theirs.
        ASSERT_TRUE(out->write(std::string_view(expected).substr(0, 333)));
        ASSERT_TRUE(out->write(std::string_view(expected).substr(333)));
        ASSERT_TRUE(out->commit());
        EXPECT_TRUE(test::read_file(target) == expected) << target;
    }
    fs::remove_all(shm, ec);
}

// A target that is not a regular file (here a FIFO; /dev/null alike) is written into at commit,
// never renamed over: as root, a rename would have replaced /dev/null with a file.
TEST(AtomicOutput, WritesIntoAFifoAtCommitAndLeavesItAFifo) {
    test::TempDir dir;
    const fs::path target = dir.path() / "pipe";
    ASSERT_EQ(::mkfifo(target.c_str(), 0600), 0);
    const int reader = ::open(target.c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader, 0);
    char got[64] = {};
    {
        auto out = AtomicOutput::open(target.string());
        ASSERT_TRUE(out);
        ASSERT_TRUE(out->write(std::string_view("verified")));
        EXPECT_EQ(::read(reader, got, sizeof got), 0);  // no writer yet: nothing came
        ASSERT_TRUE(out->commit());
    }
    EXPECT_EQ(::read(reader, got, sizeof got), 8);
    EXPECT_EQ(std::string(got, 8), "verified");
    ::close(reader);
    EXPECT_TRUE(fs::is_fifo(target));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicOutput, RefusesADirectory) {
    test::TempDir dir;
    auto out = AtomicOutput::open(dir.path().string());
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::Io);
}

TEST(AtomicOutput, ReportsAnUnwritableDirectory) {
    auto out = AtomicOutput::open("/nonexistent-dir/x");
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, ErrorCode::Io);
    EXPECT_NE(out.error().message().find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace keyfence::base
