#include "mail/pgp/range_feed.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace keyfence::mail::pgp {

base::Result<bool> feed_file_range(GpgProcess& gpg, int fd, std::uint64_t offset,
                                   std::uint64_t length) {
    std::string block(1 << 20, '\0');  // the size of gpg's input pipe
    for (std::uint64_t done = 0; done < length;) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(length - done, block.size()));
        const ssize_t n = ::pread(fd, block.data(), want, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return base::system_error(base::ErrorCode::Io, "could not read the message", errno);
        }
        if (!gpg.feed(std::string_view(block.data(), static_cast<std::size_t>(n)))) return false;
        done += static_cast<std::uint64_t>(n);
    }
    return true;
}

}  // namespace keyfence::mail::pgp
