#include "mail/mime/read_ahead_stream.hpp"

#include <sys/stat.h>
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
    std::size_t max_line;  ///< 0: no check
    gint64 checked;        ///< the file's bytes before this offset were checked
    std::size_t line;      ///< bytes of the line open at `checked`
    bool too_long;
};

// The line check of check_stream_line_limits (limits.cpp) over the bytes `data` read at file
// offset `at`, continuing where the last block ended: within the window a line may still take,
// memrchr() finds the last line end, so the cost is about one call per block. A region that
// does not continue the checked prefix is left unchecked (read_ahead_stream_checked_all()).
bool check_lines(ReadAheadStream* self, const char* data, gint64 at, std::size_t n) {
    if (self->max_line == 0 || at > self->checked || at + static_cast<gint64>(n) <= self->checked) {
        return true;
    }
    const char* p = data + (self->checked - at);
    const char* end = data + n;
    while (p < end) {
        const std::size_t budget = self->max_line - self->line;  // before an LF is due
        const char* window =
            p + std::min<std::size_t>(static_cast<std::size_t>(end - p), budget + 1);
        const auto* lf =
            static_cast<const char*>(::memrchr(p, '\n', static_cast<std::size_t>(window - p)));
        self->line = lf != nullptr ? static_cast<std::size_t>(window - lf - 1)
                                   : self->line + static_cast<std::size_t>(window - p);
        if (self->line > self->max_line) {
            self->too_long = true;
            return false;
        }
        p = window;
    }
    self->checked = at + static_cast<gint64>(n);
    return true;
}

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
    if (self->too_long) {
        errno = EFBIG;
        return -1;
    }
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
    if (!check_lines(self, into, at, static_cast<std::size_t>(n))) {
        self->block_len = 0;
        errno = EFBIG;
        return -1;
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
    self->max_line = 0;
    self->checked = 0;
    self->line = 0;
    self->too_long = false;
}

GType read_ahead_stream_type() {
    static const GType type = g_type_register_static_simple(
        GMIME_TYPE_STREAM_FS, "KeyfenceReadAheadStream", sizeof(ReadAheadStreamClass), class_init,
        sizeof(ReadAheadStream), instance_init, static_cast<GTypeFlags>(0));
    return type;
}
}  // namespace

GMimeStream* read_ahead_stream_new(int fd, std::size_t max_line) {
    auto* fs = static_cast<GMimeStreamFs*>(g_object_new(read_ahead_stream_type(), nullptr));
    // As g_mime_stream_fs_new.
    const off_t start = ::lseek(fd, 0, SEEK_CUR);
    g_mime_stream_construct(GMIME_STREAM(fs), start != -1 ? start : 0, -1);
    fs->owner = TRUE;
    fs->eos = FALSE;
    fs->fd = fd;
    auto* self = reinterpret_cast<ReadAheadStream*>(fs);
    self->max_line = max_line;
    self->checked = start != -1 ? start : 0;
    return GMIME_STREAM(fs);
}

bool read_ahead_stream_checked_all(GMimeStream* stream) {
    if (stream == nullptr || !G_TYPE_CHECK_INSTANCE_TYPE(stream, read_ahead_stream_type())) {
        return false;
    }
    auto* self = reinterpret_cast<ReadAheadStream*>(stream);
    if (self->max_line == 0 || self->too_long) return false;
    struct stat st {};
    return ::fstat(self->parent.fd, &st) == 0 && self->checked == static_cast<gint64>(st.st_size);
}

}  // namespace keyfence::mail::mime
