// KeyLease::store_certificate: enrollment's last step, the issued certificate on the token
// beside its key, so that every PKCS#11 consumer (libp11, gpgsm through gnupg-pkcs11-scd,
// browsers) pairs them by CKA_ID.

#include "base/openssl_error.hpp"
#include "token/pkcs11/ckr.hpp"
#include "token/pkcs11/key_lease.hpp"

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

std::vector<std::uint8_t> subject_der(X509* cert) {
    unsigned char* buf = nullptr;
    const int len = i2d_X509_NAME(X509_get_subject_name(cert), &buf);
    if (len <= 0) return {};
    std::vector<std::uint8_t> out(buf, buf + len);
    OPENSSL_free(buf);
    return out;
}
}  // namespace

base::Status KeyLease::store_certificate(std::span<const std::uint8_t> der, bool replace) {
    const unsigned char* p = der.data();
    base::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert || p != der.data() + der.size()) {
        return base::openssl_error(ErrorCode::BadInput, "not an X.509 certificate (DER)");
    }
    if (!m_public_key || EVP_PKEY_eq(X509_get0_pubkey(cert.get()), m_public_key.get()) != 1) {
        base::clear_openssl_errors();
        return base::Error(ErrorCode::BadInput, "the certificate is not for the key " +
                                                    m_match.key.uri + " (its public key differs)");
    }
    KEYFENCE_TRY_ASSIGN(rw, Session::open(m_match.module, m_match.token.slot_id, true));
    std::vector<std::uint8_t> id = m_match.key.id;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    std::vector<CK_ATTRIBUTE> find = {{CKA_CLASS, &cls, sizeof cls},
                                      {CKA_ID, id.data(), id.size()}};
    KEYFENCE_TRY_ASSIGN(existing, rw.find(find));
    for (CK_OBJECT_HANDLE h : existing) {
        auto value = rw.attribute(h, CKA_VALUE);
        if (value && *value &&
            std::equal(der.begin(), der.end(), (*value)->begin(), (*value)->end())) {
            return {};  // already there
        }
    }
    if (!existing.empty() && !replace) {
        return base::Error(ErrorCode::Usage,
                           "the token already holds another certificate for " + m_match.key.uri,
                           "pass --replace to put the new certificate in its place");
    }
    std::vector<std::uint8_t> value(der.begin(), der.end());
    std::vector<std::uint8_t> subject = subject_der(cert.get());
    std::string label = m_match.key.label;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                           {CKA_CERTIFICATE_TYPE, &type, sizeof type},
                           {CKA_TOKEN, &yes, sizeof yes},
                           {CKA_PRIVATE, &no, sizeof no},
                           {CKA_ID, id.data(), id.size()},
                           {CKA_LABEL, label.data(), label.size()},
                           {CKA_SUBJECT, subject.data(), subject.size()},
                           {CKA_VALUE, value.data(), value.size()}};
    CK_FUNCTION_LIST* f = rw.functions();
    CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
    if (CK_RV rv = f->C_CreateObject(rw.handle(), tmpl, 8, &created); rv != CKR_OK) {
        return pkcs11_error(rv, "the token refused to store the certificate");
    }
    for (CK_OBJECT_HANDLE h : existing) {
        if (CK_RV rv = f->C_DestroyObject(rw.handle(), h); rv != CKR_OK) {
            return pkcs11_error(rv,
                                "the new certificate is stored, but the old one could not "
                                "be removed");
        }
    }
    return {};
}

}  // namespace keyfence::token::pkcs11
