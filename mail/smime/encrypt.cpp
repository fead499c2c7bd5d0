#include "mail/smime/encrypt.hpp"

#include <openssl/rsa.h>

#include "base/openssl_error.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/certificate.hpp"
#include "mail/smime/cms_handles.hpp"
#include "mail/smime/cms_io.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

base::Status check_recipient(X509* cert) {
    const CertificateFacts facts = describe(cert);
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0 ||
        X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
        return base::Error(ErrorCode::BadInput, "the certificate of " + facts.subject +
                                                    " is not valid now (valid " + facts.not_before +
                                                    " to " + facts.not_after + ")");
    }
    const int type = EVP_PKEY_get_base_id(X509_get0_pubkey(cert));
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
        return base::Error(ErrorCode::Unsupported, "cannot encrypt to " + facts.subject +
                                                       ": S/MIME encryption here takes RSA or "
                                                       "EC keys");
    }
    return {};
}

// Sets key transport or key agreement parameters on one recipient (CMS_KEY_PARAM).
base::Status set_recipient_parameters(CMS_RecipientInfo* ri, bool oaep) {
    EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
    if (pctx == nullptr) return base::openssl_error(ErrorCode::Internal, "no recipient context");
    if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
        if (oaep && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
                     EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
                     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)) {
            return base::openssl_error(ErrorCode::Internal, "could not set RSA-OAEP");
        }
        return {};
    }
    // RFC 8551 §2.7 / RFC 5753: dhSinglePass-stdDH-sha256kdf-scheme rather than OpenSSL's
    // SHA-1 default.
    if (EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0) {
        return base::openssl_error(ErrorCode::Internal, "could not set the ECDH KDF");
    }
    return {};
}
}  // namespace

base::Result<CmsPtr> start_encryption(const std::vector<base::X509Ptr>& recipients,
                                      const EncryptOptions& options, unsigned int flags) {
    if (recipients.empty()) return base::Error(ErrorCode::Usage, "no recipients");
    for (const auto& r : recipients) KEYFENCE_TRY(check_recipient(r.get()));
    const EVP_CIPHER* cipher = options.legacy_cbc ? EVP_aes_256_cbc() : EVP_aes_256_gcm();
    // With an AEAD cipher OpenSSL 3.0 builds AuthEnvelopedData (RFC 5083).
    CmsPtr cms(CMS_encrypt(nullptr, nullptr, cipher, flags | CMS_PARTIAL));
    if (!cms) return base::openssl_error(ErrorCode::Internal, "could not start CMS encryption");
    for (const auto& r : recipients) {
        CMS_RecipientInfo* ri = CMS_add1_recipient_cert(cms.get(), r.get(), CMS_KEY_PARAM);
        if (ri == nullptr) {
            return base::openssl_error(ErrorCode::Unsupported,
                                       "cannot encrypt to " + describe(r.get()).subject);
        }
        KEYFENCE_TRY(set_recipient_parameters(ri, options.oaep));
    }
    return cms;
}

const char* smime_type_for(const EncryptOptions& options) {
    // RFC 8551 §3.2.2 smime-type values.
    return options.legacy_cbc ? "enveloped-data" : "authEnveloped-data";
}

base::Result<std::string> encrypt_message(std::string_view message,
                                          const std::vector<base::X509Ptr>& recipients,
                                          const EncryptOptions& options) {
    const unsigned int flags = CMS_BINARY;
    KEYFENCE_TRY_ASSIGN(cms, start_encryption(recipients, options, flags));
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    const std::string content = mime::canonical_bytes(parsed.body());
    base::BioPtr data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    if (CMS_final(cms.get(), data.get(), nullptr, flags) != 1) {
        return base::openssl_error(ErrorCode::Internal, "encryption failed");
    }
    KEYFENCE_TRY_ASSIGN(der, cms_to_der(cms.get()));
    auto part = mime::base64_part("application", "pkcs7-mime", der, "smime.p7m");
    g_mime_object_set_content_type_parameter(part.get(), "smime-type", smime_type_for(options));
    return parsed.with_body(part.get());
}

}  // namespace keyfence::mail::smime
