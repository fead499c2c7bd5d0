#include "mail/pgp/stream_data.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace keyfence::mail::pgp {
namespace {

ssize_t source_read(void* handle, void* buffer, std::size_t size) {
    auto* s = static_cast<FileSource*>(handle);
    ssize_t n = 0;
    do {
        n = ::pread(s->fd, buffer, size, static_cast<off_t>(s->offset));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        s->failed = true;
        return -1;
    }
    const std::uint64_t end = s->offset + static_cast<std::uint64_t>(n);
    if (s->tee && end > s->teed) {
        if (s->offset > s->teed) {  // gpg skipped ahead: the copy would have a hole
            s->failed = true;
            errno = EIO;
            return -1;
        }
        const std::string_view fresh(static_cast<const char*>(buffer) + (s->teed - s->offset),
                                     end - s->teed);
        if (!s->tee(fresh)) {
            s->failed = true;
            errno = EIO;
            return -1;
        }
        s->teed = end;
    }
    s->offset = end;
    if (s->progress) s->progress(s->offset, s->total);
    return n;
}

off_t source_seek(void* handle, off_t offset, int whence) {
    auto* s = static_cast<FileSource*>(handle);
    if (whence == SEEK_SET && offset >= 0) {
        s->offset = static_cast<std::uint64_t>(offset);
    } else if (whence == SEEK_CUR && static_cast<off_t>(s->offset) + offset >= 0) {
        s->offset = static_cast<std::uint64_t>(static_cast<off_t>(s->offset) + offset);
    } else {
        errno = EINVAL;
        return -1;
    }
    return static_cast<off_t>(s->offset);
}

ssize_t sink_write(void* handle, const void* buffer, std::size_t size) {
    auto* s = static_cast<ArmorSink*>(handle);
    if (!armor_write(*s, std::string_view(static_cast<const char*>(buffer), size))) {
        errno = EIO;
        return -1;
    }
    return static_cast<ssize_t>(size);
}

gpgme_data_cbs k_source_cbs{source_read, nullptr, source_seek, nullptr};
gpgme_data_cbs k_sink_cbs{nullptr, sink_write, nullptr, nullptr};

// GPGME moves data between a data object and gpg's pipes in 4 KiB blocks unless told otherwise
// (data flag "io-buffer-size", GPGME 1.16): a 1 GiB message takes a quarter of a million
// poll/read/write rounds. 64 KiB (a Linux pipe's capacity) measured best; 1 MiB was slower. Reading
// gpg's output in large blocks is always safe (a read takes what is there); writing gpg's input in
// large blocks is not (see FileSource::large_transfers). An older GPGME ignores the flag.
constexpr const char* k_io_buffer_size = "65536";

GpgmeDataPtr from_cbs(gpgme_data_cbs* cbs, void* handle, bool large) {
    gpgme_data_t data = nullptr;
    if (gpgme_data_new_from_cbs(&data, cbs, handle) != 0) return GpgmeDataPtr();
    GpgmeDataPtr owned(data);
    if (large) (void)gpgme_data_set_flag(data, "io-buffer-size", k_io_buffer_size);
    return owned;
}
}  // namespace

GpgmeDataPtr source_data(FileSource& source) {
    return from_cbs(&k_source_cbs, &source, source.large_transfers);
}

bool armor_write(ArmorSink& sink, std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 32 + 2);
    for (const char c : bytes) {
        if (c == '\n' && !sink.last_cr) out.push_back('\r');
        out.push_back(c);
        sink.last_cr = c == '\r';
    }
    if (!sink.write(out)) {
        sink.failed = true;
        return false;
    }
    return true;
}

GpgmeDataPtr sink_data(ArmorSink& sink) {
    return from_cbs(&k_sink_cbs, &sink, true);
}

GpgmeDataPtr fd_data(int fd) {
    if (::lseek(fd, 0, SEEK_SET) != 0) return GpgmeDataPtr();
    gpgme_data_t data = nullptr;
    if (gpgme_data_new_from_fd(&data, fd) != 0) return GpgmeDataPtr();
    GpgmeDataPtr owned(data);
    (void)gpgme_data_set_flag(data, "io-buffer-size", k_io_buffer_size);
    return owned;
}

}  // namespace keyfence::mail::pgp
