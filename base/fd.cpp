#include "base/fd.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace keyfence::base {

void Fd::reset(int fd) noexcept {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
}

Result<bool> read_range(int fd, std::uint64_t offset, std::uint64_t length,
                        const std::function<bool(std::string_view)>& take) {
    std::string block(1 << 20, '\0');
    for (std::uint64_t done = 0; done < length;) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(length - done, block.size()));
        const ssize_t n = ::pread(fd, block.data(), want, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) return Error(ErrorCode::Io, "the file ended before the range did");
        if (n < 0) return system_error(ErrorCode::Io, "could not read the file", errno);
        if (!take(std::string_view(block.data(), static_cast<std::size_t>(n)))) return false;
        done += static_cast<std::uint64_t>(n);
    }
    return true;
}

}  // namespace keyfence::base
