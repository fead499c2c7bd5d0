#include "mail/mime/gmime.hpp"

#include "mail/mime/raw_entity.hpp"
#include "mail/mime/read_ahead_stream.hpp"

#include <fcntl.h>

#include <cstdio>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

// A GMimeStream subclass that forwards writes to a C++ callback (GObject boilerplate, C style
// because G_DEFINE_TYPE is C).
struct KfSinkStream {
    GMimeStream parent;
    keyfence::mail::mime::ByteSink* sink;
};
struct KfSinkStreamClass {
    GMimeStreamClass parent_class;
};
G_DEFINE_TYPE(KfSinkStream, kf_sink_stream, GMIME_TYPE_STREAM)

namespace {
KfSinkStream* as_sink(GMimeStream* s) {
    return G_TYPE_CHECK_INSTANCE_CAST(s, kf_sink_stream_get_type(), KfSinkStream);
}

ssize_t sink_write(GMimeStream* stream, const char* buf, size_t len) {
    KfSinkStream* self = as_sink(stream);
    // No exception may cross into GMime's C code.
    try {
        if (self->sink == nullptr || !(*self->sink)(std::string_view(buf, len))) return -1;
    } catch (...) {
        return -1;
    }
    stream->position += static_cast<gint64>(len);
    return static_cast<ssize_t>(len);
}
ssize_t sink_read(GMimeStream*, char*, size_t) {
    return -1;
}
int sink_flush(GMimeStream*) {
    return 0;
}
int sink_close(GMimeStream*) {
    return 0;
}
gboolean sink_eos(GMimeStream*) {
    return TRUE;
}
int sink_reset(GMimeStream*) {
    return -1;
}
gint64 sink_seek(GMimeStream*, gint64, GMimeSeekWhence) {
    return -1;
}
gint64 sink_tell(GMimeStream* stream) {
    return stream->position;
}
gint64 sink_length(GMimeStream*) {
    return -1;
}
GMimeStream* sink_substream(GMimeStream*, gint64, gint64) {
    return nullptr;
}

void sink_finalize(GObject* object) {
    delete as_sink(GMIME_STREAM(object))->sink;
    G_OBJECT_CLASS(kf_sink_stream_parent_class)->finalize(object);
}
}  // namespace

static void kf_sink_stream_class_init(KfSinkStreamClass* klass) {
    GMimeStreamClass* stream = GMIME_STREAM_CLASS(klass);
    stream->read = sink_read;
    stream->write = sink_write;
    stream->flush = sink_flush;
    stream->close = sink_close;
    stream->eos = sink_eos;
    stream->reset = sink_reset;
    stream->seek = sink_seek;
    stream->tell = sink_tell;
    stream->length = sink_length;
    stream->substream = sink_substream;
    G_OBJECT_CLASS(klass)->finalize = sink_finalize;
}
static void kf_sink_stream_init(KfSinkStream* self) {
    self->sink = nullptr;
}

namespace keyfence::mail::mime {

GPtr<GMimeStream> sink_stream(ByteSink sink) {
    ensure_gmime();
    auto* raw = static_cast<KfSinkStream*>(g_object_new(kf_sink_stream_get_type(), nullptr));
    raw->sink = new ByteSink(std::move(sink));
    g_mime_stream_construct(GMIME_STREAM(raw), 0, -1);
    return GPtr<GMimeStream>(GMIME_STREAM(raw));
}

GPtr<GMimeStream> file_stream(const std::string& path) {
    return file_stream(path, 0);
}

GPtr<GMimeStream> file_stream(const std::string& path, std::size_t max_line) {
    ensure_gmime();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return GPtr<GMimeStream>();
    // GMime's parser reads 4 KiB at a time: served from 1 MiB blocks (read_ahead_stream.hpp).
    return GPtr<GMimeStream>(read_ahead_stream_new(fd, max_line));
}

void ensure_gmime() {
    static std::once_flag once;
    // g_mime_init is not idempotent across threads; GMime is never shut down, because other
    // GMime users in the same process (none today) would lose their state.
    std::call_once(once, [] { g_mime_init(); });
}

FormatOptionsPtr crlf_options() {
    ensure_gmime();
    FormatOptionsPtr options(g_mime_format_options_new());
    g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
    return options;
}

GPtr<GMimeStream> memory_stream(std::string_view bytes) {
    ensure_gmime();
    // g_mime_stream_mem_new_with_buffer copies the bytes.
    return GPtr<GMimeStream>(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
}

std::string stream_bytes(GMimeStream* memory) {
    GByteArray* array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory));
    if (array == nullptr || array->len == 0) return {};
    return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

std::string canonical_bytes(GMimeObject* object) {
    GPtr<GMimeStream> out(g_mime_stream_mem_new());
    auto options = crlf_options();
    g_mime_object_write_to_stream(object, options.get(), out.get());
    // GMime 3.2.13 writes a multipart's epilogue as it was read, bare LFs included.
    return to_crlf(stream_bytes(out.get()));
}

namespace {
bool armor_part(GMimePart* part) {
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (content == nullptr) return true;
    std::FILE* file = std::tmpfile();  // removed when closed
    if (file == nullptr) return false;
    GPtr<GMimeStream> encoded(g_mime_stream_file_new(file));
    {
        // decoded content -> LF line ends -> quoted-printable -> "From " armoured
        GPtr<GMimeStream> filtered(g_mime_stream_filter_new(encoded.get()));
        auto* chain = GMIME_STREAM_FILTER(filtered.get());
        GPtr<GMimeFilter> lf(g_mime_filter_dos2unix_new(FALSE));
        GPtr<GMimeFilter> qp(g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, TRUE));
        GPtr<GMimeFilter> from(g_mime_filter_from_new(GMIME_FILTER_FROM_MODE_ARMOR));
        g_mime_stream_filter_add(chain, lf.get());
        g_mime_stream_filter_add(chain, qp.get());
        g_mime_stream_filter_add(chain, from.get());
        if (g_mime_data_wrapper_write_to_stream(content, filtered.get()) < 0 ||
            g_mime_stream_flush(filtered.get()) != 0) {
            return false;
        }
    }
    g_mime_stream_reset(encoded.get());
    // Content already in the part's encoding is written as it is.
    GPtr<GMimeDataWrapper> wrapper(
        g_mime_data_wrapper_new_with_stream(encoded.get(), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE));
    g_mime_part_set_content(part, wrapper.get());
    return true;
}
}  // namespace

bool armor_from_lines(GMimeObject* object) {
    if (GMIME_IS_MULTIPART(object)) {
        auto* multipart = GMIME_MULTIPART(object);
        for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
            if (!armor_from_lines(g_mime_multipart_get_part(multipart, i))) return false;
        }
        return true;
    }
    if (!GMIME_IS_PART(object) || g_mime_part_get_content_encoding(GMIME_PART(object)) !=
                                      GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
        return true;
    }
    return armor_part(GMIME_PART(object));
}

std::string mime_type(GMimeObject* object) {
    if (object == nullptr) return {};
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (type == nullptr) return "text/plain";  // RFC 2045 §5.2 default
    std::string s = std::string(g_mime_content_type_get_media_type(type)) + "/" +
                    g_mime_content_type_get_media_subtype(type);
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace keyfence::mail::mime
