#pragma once
// A file descriptor closed on scope exit, and reading a byte range of a file: the two things
// every streaming path does with descriptors.

#include <cstdint>
#include <functional>
#include <string_view>

#include "base/result.hpp"

namespace keyfence::base {

/// A descriptor closed on scope exit. Move-only.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(Fd&& other) noexcept : m_fd(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const noexcept { return m_fd; }
    explicit operator bool() const noexcept { return m_fd >= 0; }
    void reset(int fd = -1) noexcept;
    int release() noexcept {
        const int fd = m_fd;
        m_fd = -1;
        return fd;
    }

  private:
    int m_fd = -1;
};

/// Reads `length` bytes of the open file `fd` from `offset`, in 1 MiB blocks with pread (the
/// descriptor's own offset is left alone), handing each to `take`. True when all of it was
/// taken; false as soon as `take` returns false. Errors: Io when the file is shorter or cannot
/// be read.
Result<bool> read_range(int fd, std::uint64_t offset, std::uint64_t length,
                        const std::function<bool(std::string_view)>& take);

}  // namespace keyfence::base
