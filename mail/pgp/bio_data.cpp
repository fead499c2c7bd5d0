#include "mail/pgp/bio_data.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>

namespace keyfence::mail::pgp {
namespace {

// GPGME callbacks (gpgme_data_cbs): no exception may cross them, and none is thrown here.
ssize_t bio_read(void* handle, void* buffer, size_t size) noexcept {
    auto* source = static_cast<BioSource*>(handle);
    source->started = true;
    const int n = BIO_read(source->bio, buffer, static_cast<int>(size > INT_MAX ? INT_MAX : size));
    if (n >= 0) return n;  // 0: the end of the part
    source->failed = true;
    errno = EIO;
    return -1;
}

off_t bio_seek(void* handle, off_t offset, int whence) noexcept {
    const auto* source = static_cast<BioSource*>(handle);
    if (offset == 0 && (whence == SEEK_SET || whence == SEEK_CUR) && !source->started) return 0;
    errno = ESPIPE;
    return -1;
}

gpgme_data_cbs k_bio_cbs{bio_read, nullptr, bio_seek, nullptr};
}  // namespace

GpgmeDataPtr bio_data(BioSource& source) {
    gpgme_data_t data = nullptr;
    if (gpgme_data_new_from_cbs(&data, &k_bio_cbs, &source) != 0) return GpgmeDataPtr();
    return GpgmeDataPtr(data);
}

}  // namespace keyfence::mail::pgp
