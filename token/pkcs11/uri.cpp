#include "token/pkcs11/uri.hpp"

#include <p11-kit/uri.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace keyfence::token::pkcs11 {

void UriDeleter::operator()(p11_kit_uri* uri) const noexcept {
    p11_kit_uri_free(uri);
}

namespace {
using UriPtr = std::unique_ptr<p11_kit_uri, UriDeleter>;

std::string format(p11_kit_uri* uri, P11KitUriType type) {
    char* text = nullptr;
    if (p11_kit_uri_format(uri, type, &text) != P11_KIT_URI_OK || text == nullptr) return {};
    std::string out(text);
    std::free(text);
    return out;
}

// The three object attributes a URI can name (RFC 7512 type, id, object), as a template that
// owns its values.
struct ObjectAttributes {
    ObjectAttributes(CK_OBJECT_CLASS object_class, std::span<const std::uint8_t> id_bytes,
                     std::string_view label_text)
        : cls(object_class), id(id_bytes.begin(), id_bytes.end()), label(label_text) {}
    ObjectAttributes(const ObjectAttributes&) = delete;  // attrs point into this object
    ObjectAttributes& operator=(const ObjectAttributes&) = delete;

    CK_OBJECT_CLASS cls;
    std::vector<std::uint8_t> id;
    std::string label;
    CK_ATTRIBUTE attrs[3] = {{CKA_CLASS, &cls, sizeof cls},
                             {CKA_ID, id.data(), id.size()},
                             {CKA_LABEL, label.data(), label.size()}};
};

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    return a == b || std::filesystem::equivalent(a, b, ec);
}
}  // namespace

base::Result<Uri> Uri::parse(std::string_view text) {
    UriPtr uri(p11_kit_uri_new());
    const std::string s(text);
    const int rc = p11_kit_uri_parse(s.c_str(), P11_KIT_URI_FOR_ANY, uri.get());
    if (rc != P11_KIT_URI_OK) {
        return base::Error(base::ErrorCode::Usage,
                           "'" + s + "' is not a PKCS#11 URI: " + p11_kit_uri_message(rc),
                           "write it as pkcs11:token=LABEL;object=KEY (RFC 7512); "
                           "'keyfence keys' prints each key's URI");
    }
    if (p11_kit_uri_get_pin_value(uri.get()) != nullptr ||
        p11_kit_uri_get_pin_source(uri.get()) != nullptr) {
        // Never echo the URI here: it holds a PIN.
        return base::Error(base::ErrorCode::Usage,
                           "the key URI carries a PIN (pin-value or pin-source); Keyfence never "
                           "takes a PIN from a URI",
                           "remove pin-value/pin-source; Keyfence asks for the PIN through "
                           "pinentry, or reads it from --pin-fd");
    }
    if (p11_kit_uri_any_unrecognized(uri.get())) {
        return base::Error(base::ErrorCode::Usage,
                           "'" + s + "' has an attribute Keyfence does not understand",
                           "use token, manufacturer, serial, model, object, id, type, "
                           "slot-id, module-name or module-path");
    }
    Uri result;
    result.m_text = s;
    result.m_uri.reset(uri.release(), UriDeleter{});
    return result;
}

bool Uri::matches_module(const CK_INFO& info, const std::string& module_path) const {
    if (!p11_kit_uri_match_module_info(m_uri.get(), &info)) return false;
    if (const char* path = p11_kit_uri_get_module_path(m_uri.get())) {
        if (!same_file(path, module_path)) return false;
    }
    if (const char* name = p11_kit_uri_get_module_name(m_uri.get())) {
        const std::string file = std::filesystem::path(module_path).filename().string();
        const std::string n(name);
        if (file != n && file != n + ".so" && file != "lib" + n + ".so") return false;
    }
    return true;
}

bool Uri::matches_slot(const CK_SLOT_INFO& info, CK_SLOT_ID slot) const {
    // p11_kit_uri_match_slot_info compares slot-description/slot-manufacturer; slot-id apart.
    const CK_SLOT_ID wanted = p11_kit_uri_get_slot_id(m_uri.get());
    if (wanted != static_cast<CK_SLOT_ID>(-1) && wanted != slot) return false;
    return p11_kit_uri_match_slot_info(m_uri.get(), &info) != 0;
}

bool Uri::matches_token(const CK_TOKEN_INFO& info) const {
    return p11_kit_uri_match_token_info(m_uri.get(), &info) != 0;
}

bool Uri::matches_object(CK_OBJECT_CLASS object_class, std::span<const std::uint8_t> id,
                         std::string_view label) const {
    ObjectAttributes object(object_class, id, label);
    return p11_kit_uri_match_attributes(m_uri.get(), object.attrs, 3) != 0;
}

std::string format_token_uri(const CK_TOKEN_INFO& token) {
    UriPtr uri(p11_kit_uri_new());
    *p11_kit_uri_get_token_info(uri.get()) = token;
    return format(uri.get(), P11_KIT_URI_FOR_TOKEN);
}

std::string format_object_uri(const CK_TOKEN_INFO& token, CK_OBJECT_CLASS object_class,
                              std::span<const std::uint8_t> id, std::string_view label) {
    UriPtr uri(p11_kit_uri_new());
    *p11_kit_uri_get_token_info(uri.get()) = token;
    ObjectAttributes object(object_class, id, label);
    for (CK_ATTRIBUTE& attr : object.attrs) {
        if (attr.ulValueLen == 0 && attr.type != CKA_CLASS) continue;
        p11_kit_uri_set_attribute(uri.get(), &attr);
    }
    return format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN);
}

}  // namespace keyfence::token::pkcs11
