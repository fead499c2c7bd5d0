#include "mail/smime/csr.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/openssl_error.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;
using X509NamePtr = base::CPtr<X509_NAME, &X509_NAME_free>;

inline void free_extensions(STACK_OF(X509_EXTENSION) * s) noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtensionsPtr = base::CPtr<STACK_OF(X509_EXTENSION), &free_extensions>;

// "/CN=Alice/O=Example Org" (OpenSSL's -subj form).
base::Result<X509NamePtr> parse_subject(const std::string& text) {
    X509NamePtr name(X509_NAME_new());
    if (text.empty() || text.front() != '/') {
        return base::Error(ErrorCode::Usage, "--subject must look like /CN=Name/O=Org");
    }
    std::size_t pos = 1;
    while (pos <= text.size()) {
        std::size_t next = text.find('/', pos);
        if (next == std::string::npos) next = text.size();
        const std::string rdn = text.substr(pos, next - pos);
        const std::size_t eq = rdn.find('=');
        if (eq == std::string::npos || eq == 0) {
            return base::Error(ErrorCode::Usage, "--subject part '" + rdn + "' is not KEY=VALUE");
        }
        const std::string value = rdn.substr(eq + 1);
        if (X509_NAME_add_entry_by_txt(name.get(), rdn.substr(0, eq).c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                       -1, 0) != 1) {
            return base::openssl_error(
                ErrorCode::Usage, "--subject has an unknown attribute '" + rdn.substr(0, eq) + "'");
        }
        pos = next + 1;
    }
    return name;
}

base::Status add_extension(STACK_OF(X509_EXTENSION) * exts, int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, nid, value.c_str());
    if (ext == nullptr || sk_X509_EXTENSION_push(exts, ext) <= 0) {
        X509_EXTENSION_free(ext);
        return base::openssl_error(ErrorCode::Usage, "could not encode " + value);
    }
    return {};
}
}  // namespace

base::Result<X509ReqPtr> build_csr(EVP_PKEY* public_key, const CsrRequest& request) {
    if (request.email.find('@') == std::string::npos) {
        return base::Error(ErrorCode::Usage, "--email must be an address");
    }
    KEYFENCE_TRY_ASSIGN(
        subject, parse_subject(request.subject.empty() ? "/CN=" + request.email : request.subject));
    X509ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
        X509_REQ_set_subject_name(req.get(), subject.get()) != 1 ||
        X509_REQ_set_pubkey(req.get(), public_key) != 1) {
        return base::openssl_error(ErrorCode::Internal, "could not build the request");
    }
    const bool ec = EVP_PKEY_get_base_id(public_key) == EVP_PKEY_EC;
    ExtensionsPtr exts(sk_X509_EXTENSION_new_null());
    KEYFENCE_TRY(add_extension(exts.get(), NID_subject_alt_name, "email:" + request.email));
    KEYFENCE_TRY(add_extension(exts.get(), NID_key_usage,
                               ec ? "critical,digitalSignature,keyAgreement"
                                  : "critical,digitalSignature,keyEncipherment"));
    KEYFENCE_TRY(add_extension(exts.get(), NID_ext_key_usage, "emailProtection"));
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
        return base::openssl_error(ErrorCode::Internal, "could not add the extensions");
    }
    return req;
}

base::Result<std::string> sign_csr(X509_REQ* req, EVP_PKEY* key, const std::string& hash) {
    const EVP_MD* md = EVP_get_digestbyname(hash.c_str());
    if (md == nullptr) return base::Error(ErrorCode::Usage, "unknown hash " + hash);
    if (X509_REQ_sign(req, key, md) <= 0) {
        return base::openssl_error(ErrorCode::ModuleFailure, "the token did not sign the request");
    }
    // Fault defence, as for every signature: the request must verify with its own key.
    if (X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1) {
        base::clear_openssl_errors();
        return base::Error(ErrorCode::ModuleFailure,
                           "the token's signature on the request does not verify; withheld");
    }
    base::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace keyfence::mail::smime
