#include "mail/mime/coverage.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "mail/mime/message.hpp"
#include "mail/mime/sender.hpp"

namespace keyfence::mail::mime {
namespace {

bool is_pkcs7_mime(const std::string& type) {
    return type == "application/pkcs7-mime" || type == "application/x-pkcs7-mime";
}

bool is_signature_type(const std::string& type) {
    return type == "application/pkcs7-signature" || type == "application/x-pkcs7-signature" ||
           type == "application/pgp-signature";
}

// A media type as the message wrote it, for reports: RFC 2045 token characters stand as they
// are; anything else (GMime is lenient) is quoted, so that it cannot pass for Keyfence's text.
std::string shown_type(const std::string& type) {
    const bool token = std::all_of(type.begin(), type.end(), [](unsigned char c) {
        return std::isalnum(c) ||
               std::string_view("!#$%&'*+-.^_`{|}~/").find(static_cast<char>(c)) !=
                   std::string_view::npos;
    });
    return token ? type : quote(type);
}

std::string child_path(const std::string& parent, int index) {
    const std::string n = std::to_string(index + 1);
    return parent.empty() ? n : parent + "." + n;
}

bool is_attachment(GMimeObject* object) {
    GMimeContentDisposition* d = g_mime_object_get_content_disposition(object);
    return d != nullptr && g_mime_content_disposition_is_attachment(d);
}

// RFC 4880 §7: a cleartext signature starts with this line. Only text parts are searched.
bool holds_inline_pgp_signature(GMimeObject* object) {
    if (!GMIME_IS_PART(object) || mime_type(object).rfind("text/", 0) != 0) return false;
    auto text = decoded_content(object);
    if (!text) return false;
    const std::string_view marker = "-----BEGIN PGP SIGNED MESSAGE-----";
    for (std::size_t pos = text->find(marker); pos != std::string::npos;
         pos = text->find(marker, pos + 1)) {
        if (pos == 0 || (*text)[pos - 1] == '\n') return true;
    }
    return false;
}

class Walker {
  public:
    Coverage result;

    void walk(GMimeObject* object, const std::string& path, const std::string& context) {
        if (object == nullptr) return;
        const std::string type = mime_type(object);
        std::string here = context;
        if (here.empty() && is_attachment(object)) here = "attachment";
        if (auto kind = signed_kind(object, type)) {
            result.signed_entities.push_back({path, shown_type(type), *kind, here, object});
            return;
        }
        if (GMIME_IS_MULTIPART(object)) {
            auto* multipart = GMIME_MULTIPART(object);
            const bool related = type == "multipart/related";
            for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
                GMimeObject* part = g_mime_multipart_get_part(multipart, i);
                std::string part_context = here;
                if (part_context.empty() && related && i > 0 &&
                    g_mime_object_get_content_id(part) != nullptr) {
                    part_context = "Content-ID reference";
                }
                walk(part, child_path(path, i), part_context);
            }
            return;
        }
        if (GMIME_IS_MESSAGE_PART(object)) {
            GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
            GMimeObject* body = inner != nullptr ? g_mime_message_get_mime_part(inner) : nullptr;
            if (body != nullptr) {
                walk(body, child_path(path, 0), here.empty() ? "inside a forwarded message" : here);
                return;
            }
        }
        result.unsigned_parts.push_back({path, shown_type(type)});
    }

  private:
    static std::optional<SignedKind> signed_kind(GMimeObject* object, const std::string& type) {
        if (type == "multipart/signed") {
            const std::string protocol = content_type_parameter(object, "protocol");
            if (is_smime_signature_protocol(protocol)) return SignedKind::SmimeDetached;
            if (protocol == "application/pgp-signature") return SignedKind::PgpMime;
            return std::nullopt;
        }
        if (is_pkcs7_mime(type)) {
            const std::string smime_type = content_type_parameter(object, "smime-type");
            if (smime_type.empty() || smime_type == "signed-data") return SignedKind::SmimeOpaque;
            return std::nullopt;
        }
        // The body itself cannot be a bare signature: that is "a signature of nothing" too.
        if (is_signature_type(type)) return SignedKind::OrphanSignature;
        if (holds_inline_pgp_signature(object)) return SignedKind::PgpInline;
        return std::nullopt;
    }
};

}  // namespace

std::string content_type_parameter(GMimeObject* object, const char* name) {
    GMimeContentType* type = g_mime_object_get_content_type(object);
    const char* v = type != nullptr ? g_mime_content_type_get_parameter(type, name) : nullptr;
    return ascii_lower(v != nullptr ? v : "");
}

bool is_smime_signature_protocol(const std::string& protocol) {
    const std::string p = ascii_lower(protocol);
    return p == "application/pkcs7-signature" || p == "application/x-pkcs7-signature";
}

Coverage analyse_coverage(GMimeObject* body) {
    Walker walker;
    walker.walk(body, "", "");
    return std::move(walker.result);
}

std::string describe_path(const std::string& path) {
    return path.empty() ? "the whole message body" : "part " + path;
}

}  // namespace keyfence::mail::mime
