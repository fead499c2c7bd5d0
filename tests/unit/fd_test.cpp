// base/fd.hpp: a descriptor closed once, by its last owner; a file range read exactly, in
// blocks, stopped when the taker says so, and refused when the file is shorter.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include "base/fd.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence {
namespace {

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

TEST(Fd, TheLastOwnerClosesItOnce) {
    int raw = -1;
    {
        base::Fd first(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        ASSERT_TRUE(first);
        raw = first.get();
        base::Fd second(std::move(first));
        EXPECT_FALSE(first);
        EXPECT_EQ(second.get(), raw);
        EXPECT_TRUE(is_open(raw));
    }
    EXPECT_FALSE(is_open(raw));
    base::Fd kept(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int released = kept.release();
    EXPECT_FALSE(kept);
    EXPECT_TRUE(is_open(released));
    ::close(released);
}

TEST(ReadRange, ReadsExactlyTheRangeAndStopsWhenTold) {
    test::TempDir dir;
    std::string data(3 * (1 << 20) + 12345, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 251);
    test::write_file(dir.path() / "f", data);
    base::Fd fd(::open((dir.path() / "f").c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd);

    std::string got;
    auto all = base::read_range(fd.get(), 1000, 2 * (1 << 20) + 5, [&](std::string_view b) {
        got.append(b);
        return true;
    });
    ASSERT_TRUE(all);
    EXPECT_TRUE(*all);
    EXPECT_TRUE(got == data.substr(1000, 2 * (1 << 20) + 5));
    EXPECT_EQ(::lseek(fd.get(), 0, SEEK_CUR), 0) << "the descriptor's own offset moved";

    int blocks = 0;
    auto stopped =
        base::read_range(fd.get(), 0, data.size(), [&](std::string_view) { return ++blocks < 2; });
    ASSERT_TRUE(stopped);
    EXPECT_FALSE(*stopped);
    EXPECT_EQ(blocks, 2);

    auto past =
        base::read_range(fd.get(), data.size() - 10, 11, [](std::string_view) { return true; });
    ASSERT_FALSE(past);
    EXPECT_EQ(past.error().code, base::ErrorCode::Io);
}

}  // namespace
}  // namespace keyfence
