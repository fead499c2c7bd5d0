#include "mail/smime/stream_frame.hpp"

#include <string_view>

#include "base/hex.hpp"

namespace keyfence::mail::smime {
namespace {
// The placeholder content; its base64 line is looked for in GMime's output.
constexpr std::string_view k_marker = "keyfence-streamed-cms-placeholder";
}  // namespace

base::Result<PartFrame> pkcs7_mime_frame(mime::Message& message, const char* smime_type) {
    auto part = mime::base64_part("application", "pkcs7-mime", k_marker, "smime.p7m");
    g_mime_object_set_content_type_parameter(part.get(), "smime-type", smime_type);
    const std::string whole = message.with_body(part.get());
    const std::string line = base::to_base64(k_marker) + "\r\n";
    const std::size_t at = whole.find(line);
    if (at == std::string::npos) {
        return base::Error(base::ErrorCode::Internal,
                           "GMime did not write the S/MIME part's frame");
    }
    return PartFrame{whole.substr(0, at), whole.substr(at + line.size())};
}

}  // namespace keyfence::mail::smime
