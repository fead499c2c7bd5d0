#include "mail/pgp/mime_parts.hpp"

#include <algorithm>
#include <cctype>

namespace keyfence::mail::pgp {

mime::GPtr<GMimeObject> armored_part(const char* subtype, std::string_view armored) {
    mime::ensure_gmime();
    mime::GPtr<GMimePart> part(g_mime_part_new_with_type("application", subtype));
    auto stream = mime::memory_stream(armored);
    mime::GPtr<GMimeDataWrapper> wrapper(
        g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part.get(), wrapper.get());
    g_mime_part_set_content_encoding(part.get(), GMIME_CONTENT_ENCODING_7BIT);
    return mime::GPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

std::string lower_param(GMimeObject* object, const char* name) {
    GMimeContentType* type = object != nullptr ? g_mime_object_get_content_type(object) : nullptr;
    const char* v = type != nullptr ? g_mime_content_type_get_parameter(type, name) : nullptr;
    std::string s = v != nullptr ? v : "";
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace keyfence::mail::pgp
