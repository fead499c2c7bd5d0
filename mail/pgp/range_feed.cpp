#include "mail/pgp/range_feed.hpp"

#include "base/fd.hpp"

namespace keyfence::mail::pgp {

base::Result<bool> feed_file_range(GpgProcess& gpg, int fd, std::uint64_t offset,
                                   std::uint64_t length) {
    // 1 MiB blocks: the size of gpg's input pipe.
    return base::read_range(fd, offset, length, [&gpg](std::string_view block) {
        return static_cast<bool>(gpg.feed(block));
    });
}

}  // namespace keyfence::mail::pgp
