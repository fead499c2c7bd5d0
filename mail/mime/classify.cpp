#include "mail/mime/classify.hpp"

#include <optional>
#include <string_view>

namespace keyfence::mail::mime {
namespace {

// Deeper than any real message; a crafted one is classified up to here and the rest counts as
// unprotected content, which can only make the verdict stricter.
constexpr int kMaxDepth = 32;

std::string lower(const char* text) {
    std::string out = text != nullptr ? text : "";
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string content_parameter(GMimeObject* object, const char* name) {
    GMimeContentType* type = g_mime_object_get_content_type(object);
    return type != nullptr ? lower(g_mime_content_type_get_parameter(type, name)) : "";
}

// Inline OpenPGP is recognised only where a mail client would show it as text: a text/plain
// leaf whose decoded content has the armor header at the start of a line.
bool has_armor_line(const std::string& text, std::string_view armor) {
    for (std::size_t at = text.find(armor); at != std::string::npos; at = text.find(armor, at + 1))
        if (at == 0 || text[at - 1] == '\n') return true;
    return false;
}

std::optional<Protection> inline_protection(GMimeObject* object) {
    if (!GMIME_IS_PART(object) || mime_type(object) != "text/plain") return std::nullopt;
    auto text = decoded_content(object);
    if (!text) return std::nullopt;
    if (has_armor_line(*text, "-----BEGIN PGP SIGNED MESSAGE-----"))
        return Protection::PgpInlineSigned;
    if (has_armor_line(*text, "-----BEGIN PGP MESSAGE-----")) return Protection::PgpInlineEncrypted;
    return std::nullopt;
}

std::optional<Protection> protection_of(GMimeObject* object) {
    const std::string type = mime_type(object);
    if (type == "multipart/signed") {
        const std::string protocol = content_parameter(object, "protocol");
        if (protocol == "application/pkcs7-signature" ||
            protocol == "application/x-pkcs7-signature")
            return Protection::SmimeSigned;
        if (protocol == "application/pgp-signature") return Protection::PgpSigned;
        return Protection::UnknownSigned;
    }
    if (type == "multipart/encrypted") {
        return content_parameter(object, "protocol") == "application/pgp-encrypted"
                   ? Protection::PgpEncrypted
                   : Protection::UnknownEncrypted;
    }
    if (type == "application/pkcs7-mime" || type == "application/x-pkcs7-mime") {
        const std::string smime_type = content_parameter(object, "smime-type");
        if (smime_type == "signed-data") return Protection::SmimeOpaqueSigned;
        // enveloped-data, authEnveloped-data, and (as older clients send) no smime-type at all:
        // the CMS content type decides, when it is decrypted.
        return Protection::SmimeEncrypted;
    }
    return inline_protection(object);
}

void walk(GMimeObject* object, const std::string& path, int depth, Classification& out) {
    if (object == nullptr || depth > kMaxDepth) return;
    if (auto protection = protection_of(object)) {
        out.parts.push_back({*protection, path});
        return;
    }
    if (GMIME_IS_MULTIPART(object)) {
        auto* multipart = GMIME_MULTIPART(object);
        const int count = g_mime_multipart_get_count(multipart);
        for (int i = 0; i < count; ++i) {
            const std::string child = (path.empty() ? "" : path + ".") + std::to_string(i + 1);
            walk(g_mime_multipart_get_part(multipart, i), child, depth + 1, out);
        }
    } else if (GMIME_IS_MESSAGE_PART(object)) {
        // A forwarded message/rfc822 is content inside this message, never this message's own
        // protection: even as the whole body, its path is not "".
        GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
        if (inner != nullptr)
            walk(g_mime_message_get_mime_part(inner), path.empty() ? "1" : path + ".1", depth + 1,
                 out);
    }
}

}  // namespace

const char* protection_name(Protection protection) {
    switch (protection) {
        case Protection::SmimeSigned:
            return "smime-signed";
        case Protection::SmimeOpaqueSigned:
            return "smime-opaque-signed";
        case Protection::SmimeEncrypted:
            return "smime-encrypted";
        case Protection::PgpSigned:
            return "pgp-signed";
        case Protection::PgpEncrypted:
            return "pgp-encrypted";
        case Protection::PgpInlineSigned:
            return "pgp-inline-signed";
        case Protection::PgpInlineEncrypted:
            return "pgp-inline-encrypted";
        case Protection::UnknownSigned:
            return "unknown-signed";
        case Protection::UnknownEncrypted:
            return "unknown-encrypted";
    }
    return "unknown";
}

Classification classify(const Message& message) {
    ensure_gmime();
    Classification out;
    walk(message.body(), "", 0, out);
    out.mixed = !out.parts.empty() && !out.whole();
    return out;
}

}  // namespace keyfence::mail::mime
