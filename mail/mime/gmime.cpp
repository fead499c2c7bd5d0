#include "mail/mime/gmime.hpp"

#include "mail/mime/raw_entity.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

namespace keyfence::mail::mime {

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
