#include "mail/mime/read_ahead_stream.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace keyfence::mail::mime {
namespace {

constexpr std::size_t k_block = 1 << 20;

struct ReadAheadStream {
    GMimeStreamFs parent;
    char* block;         ///< null until the first small read
    gint64 block_start;  ///< the file offset of block[0]
    std::size_t block_len;
};

struct ReadAheadStreamClass {
    GMimeStreamFsClass parent_class;
};

GObjectClass* g_parent_class = nullptr;

ssize_t read_ahead(GMimeStream* stream, char* buf, size_t len) {
    auto* self = reinterpret_cast<ReadAheadStream*>(stream);
    GMimeStreamFs* fs = &self->parent;
    // As GMimeStreamFs's read: bounds, end of stream.
    if (fs->fd == -1) {
        errno = EBADF;
        return -1;
    }
    if (stream->bound_end != -1 && stream->position >= stream->bound_end) {
        errno = EINVAL;
        return -1;
    }
    if (stream->bound_end != -1) {
        len = static_cast<size_t>(
            std::min<gint64>(stream->bound_end - stream->position, static_cast<gint64>(len)));
    }
    if (len == 0) return 0;
    const gint64 at = stream->position;
    if (self->block != nullptr && at >= self->block_start &&
        at < self->block_start + static_cast<gint64>(self->block_len)) {
        const std::size_t skip = static_cast<std::size_t>(at - self->block_start);
        const std::size_t n = std::min(len, self->block_len - skip);
        std::memcpy(buf, self->block + skip, n);
        stream->position += static_cast<gint64>(n);
        return static_cast<ssize_t>(n);
    }
    char* into = buf;
    std::size_t want = len;
    if (len < k_block) {
        if (self->block == nullptr) {
            self->block = static_cast<char*>(std::malloc(k_block));
            if (self->block == nullptr) {
                errno = ENOMEM;
                return -1;
            }
        }
        into = self->block;
        want = k_block;
        self->block_len = 0;
    }
    ssize_t n = 0;
    do {
        n = ::pread(fs->fd, into, want, static_cast<off_t>(at));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if (n == 0) {
        fs->eos = TRUE;
        return 0;
    }
    if (into == self->block) {
        self->block_start = at;
        self->block_len = static_cast<std::size_t>(n);
        n = static_cast<ssize_t>(std::min(len, self->block_len));
        std::memcpy(buf, self->block, static_cast<std::size_t>(n));
    }
    stream->position += n;
    return n;
}

void finalize(GObject* object) {
    auto* self = reinterpret_cast<ReadAheadStream*>(object);
    std::free(self->block);
    self->block = nullptr;
    g_parent_class->finalize(object);
}

void class_init(gpointer klass, gpointer) {
    g_parent_class = G_OBJECT_CLASS(g_type_class_peek_parent(klass));
    G_OBJECT_CLASS(klass)->finalize = finalize;
    GMIME_STREAM_CLASS(klass)->read = read_ahead;
}

void instance_init(GTypeInstance* instance, gpointer) {
    auto* self = reinterpret_cast<ReadAheadStream*>(instance);
    self->block = nullptr;
    self->block_start = 0;
    self->block_len = 0;
}

GType read_ahead_stream_type() {
    static const GType type = g_type_register_static_simple(
        GMIME_TYPE_STREAM_FS, "KeyfenceReadAheadStream", sizeof(ReadAheadStreamClass), class_init,
        sizeof(ReadAheadStream), instance_init, static_cast<GTypeFlags>(0));
    return type;
}
}  // namespace

GMimeStream* read_ahead_stream_new(int fd) {
    auto* fs = static_cast<GMimeStreamFs*>(g_object_new(read_ahead_stream_type(), nullptr));
    // As g_mime_stream_fs_new.
    const off_t start = ::lseek(fd, 0, SEEK_CUR);
    g_mime_stream_construct(GMIME_STREAM(fs), start != -1 ? start : 0, -1);
    fs->owner = TRUE;
    fs->eos = FALSE;
    fs->fd = fd;
    return GMIME_STREAM(fs);
}

}  // namespace keyfence::mail::mime
