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

mime::GPtr<GMimeObject> multipart_signed() {
    mime::ensure_gmime();
    mime::GPtr<GMimeObject> multipart(GMIME_OBJECT(g_mime_multipart_signed_new()));
    g_mime_multipart_set_boundary(GMIME_MULTIPART(multipart.get()), nullptr);
    g_mime_object_set_content_type_parameter(multipart.get(), "protocol",
                                             "application/pgp-signature");
    return multipart;
}

mime::GPtr<GMimeObject> signature_part(const std::string& signature) {
    auto part = armored_part("pgp-signature", signature);
    g_mime_object_set_content_type_parameter(part.get(), "name", "signature.asc");
    return part;
}

base::Result<std::pair<std::string, std::string>> signed_frame(mime::Message& message,
                                                               GMimeObject* multipart) {
    const std::string boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(multipart));
    const std::string whole = message.with_body(multipart);
    const std::string first = "--" + boundary + "\r\n";
    const std::size_t a = whole.find(first);
    const std::size_t b = a == std::string::npos ? a : whole.find("\r\n" + first, a + first.size());
    if (b == std::string::npos) {
        return base::Error(base::ErrorCode::Internal,
                           "GMime did not write the multipart/signed frame");
    }
    return std::make_pair(whole.substr(0, a + first.size()), whole.substr(b));
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
