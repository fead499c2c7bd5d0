#include "mail/smime/cms_io.hpp"

#include <climits>

#include "base/openssl_error.hpp"

namespace keyfence::mail::smime {

base::Result<std::string> cms_to_der(CMS_ContentInfo* cms) {
    unsigned char* der = nullptr;
    const int len = i2d_CMS_ContentInfo(cms, &der);
    if (len <= 0) return base::openssl_error(base::ErrorCode::Internal, "could not encode CMS");
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

base::Result<CmsPtr> cms_from_der(std::string_view der) {
    if (der.size() > static_cast<std::size_t>(LONG_MAX)) {
        return base::Error(base::ErrorCode::BadInput, "the CMS structure is too large");
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const auto* end = p + der.size();
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    if (!cms) {
        return base::openssl_error(base::ErrorCode::BadInput,
                                   "the S/MIME part is not a valid CMS structure (RFC 5652)");
    }
    if (p != end) {
        return base::Error(base::ErrorCode::BadInput,
                           "the S/MIME part has bytes after its CMS structure");
    }
    return cms;
}

}  // namespace keyfence::mail::smime
