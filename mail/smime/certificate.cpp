#include "mail/smime/certificate.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "base/openssl_error.hpp"
#include "mail/smime/cms_handles.hpp"

namespace keyfence::mail::smime {
namespace {
std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string name_text(const X509_NAME* name) {
    base::BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string iso_time(const ASN1_TIME* t) {
    struct tm tm {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void add_unique(std::vector<std::string>& out, std::string value) {
    value = lower(std::move(value));
    if (!value.empty() && std::find(out.begin(), out.end(), value) == out.end()) {
        out.push_back(std::move(value));
    }
}
}  // namespace

X509StackView borrow_stack(const std::vector<base::X509Ptr>& certs) {
    X509StackView stack(sk_X509_new_null());
    for (const auto& c : certs) sk_X509_push(stack.get(), c.get());
    return stack;
}

CertificateFacts describe(X509* cert) {
    CertificateFacts f;
    f.subject = name_text(X509_get_subject_name(cert));
    f.issuer = name_text(X509_get_issuer_name(cert));
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
        base::BignumPtr owned(bn);
        base::OpensslStringPtr hex(BN_bn2hex(bn));
        if (hex) f.serial = lower(hex.get());
    }
    f.not_before = iso_time(X509_get0_notBefore(cert));
    f.not_after = iso_time(X509_get0_notAfter(cert));
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_EMAIL) continue;
        const ASN1_IA5STRING* s = gn->d.rfc822Name;
        add_unique(f.emails, std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<std::size_t>(ASN1_STRING_length(s))));
    }
    GENERAL_NAMES_free(names);
    const X509_NAME* subject = X509_get_subject_name(cert);
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) >= 0;) {
        const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        add_unique(f.emails, std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<std::size_t>(ASN1_STRING_length(s))));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &len) == 1) {
        f.sha256 = base::to_hex(std::span<const std::uint8_t>(md, len));
    }
    return f;
}

base::Result<std::vector<base::X509Ptr>> load_certificates(const std::string& path) {
    KEYFENCE_TRY_ASSIGN(bytes, base::read_all(path));
    std::vector<base::X509Ptr> certs;
    base::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(c);
    base::clear_openssl_errors();  // the end of the PEM input reads as an error
    if (certs.empty()) {
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
        if (X509* c = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()))) certs.emplace_back(c);
        base::clear_openssl_errors();
    }
    if (certs.empty()) {
        return base::Error(base::ErrorCode::BadInput,
                           path + " holds no X.509 certificate (PEM or DER)");
    }
    return certs;
}

base::Result<base::X509Ptr> certificate_from_der(const std::vector<std::uint8_t>& der) {
    const unsigned char* p = der.data();
    base::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) return base::openssl_error(base::ErrorCode::BadInput, "unreadable certificate");
    return cert;
}

std::string to_pem(X509* cert) {
    base::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

bool has_email(const std::vector<std::string>& emails, const std::string& address) {
    return std::find(emails.begin(), emails.end(), lower(address)) != emails.end();
}

}  // namespace keyfence::mail::smime
