#include "mail/smime/decrypt.hpp"

#include <algorithm>

#include "base/openssl_error.hpp"
#include "mail/mime/sender.hpp"
#include "mail/smime/certificate.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/cms_limits.hpp"

namespace keyfence::mail::smime {
using base::ErrorCode;

// One error for every failure of the data, whatever OpenSSL or the token said (Bleichenbacher,
// Marvin): the caller learns that it failed, not why.
base::Error decryption_failed() {
    base::clear_openssl_errors();
    return base::Error(ErrorCode::BadInput, "decryption failed",
                       "the message may not be encrypted to this key, or it is damaged");
}

namespace {

bool is_pkcs7_mime(const std::string& type) {
    return type == "application/pkcs7-mime" || type == "application/x-pkcs7-mime";
}

bool contains_encrypted_part(GMimeObject* entity) {
    if (!GMIME_IS_MULTIPART(entity)) return false;
    auto* multipart = GMIME_MULTIPART(entity);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
        GMimeObject* part = g_mime_multipart_get_part(multipart, i);
        if (is_pkcs7_mime(mime::mime_type(part)) || contains_encrypted_part(part)) return true;
    }
    return false;
}

std::vector<std::uint8_t> sha256_of(std::string_view bytes) {
    std::vector<std::uint8_t> out(32);
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}
}  // namespace

bool encrypted_to(CMS_ContentInfo* cms, X509* cert) {
    STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms);
    for (int i = 0; i < sk_CMS_RecipientInfo_num(infos); ++i) {
        CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(infos, i);
        const int type = CMS_RecipientInfo_type(ri);
        if (type == CMS_RECIPINFO_TRANS && CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) {
            return true;
        }
        if (type != CMS_RECIPINFO_AGREE) continue;
        STACK_OF(CMS_RecipientEncryptedKey)* keys = CMS_RecipientInfo_kari_get0_reks(ri);
        for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(keys); ++k) {
            if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(keys, k),
                                                   cert) == 0) {
                return true;
            }
        }
    }
    base::clear_openssl_errors();
    return false;
}

base::Status check_encrypted_body(GMimeObject* body) {
    if (is_pkcs7_mime(mime::mime_type(body))) return {};
    if (contains_encrypted_part(body)) {
        return base::Error(ErrorCode::BadInput,
                           "only a part of this message is encrypted; Keyfence decrypts "
                           "only a body encrypted as a whole, so that decrypted text is "
                           "never shown beside text anyone could have added (EFAIL)",
                           "'keyfence mail open' decrypts that part alone, under the message's "
                           "headers, and reports the message as mixed");
    }
    return base::Error(ErrorCode::BadInput, "the message is not S/MIME encrypted");
}

base::Result<bool> check_enveloped(CMS_ContentInfo* cms, X509* recipient) {
    const int type = OBJ_obj2nid(CMS_get0_type(cms));
    if (type != NID_pkcs7_enveloped && type != NID_id_smime_ct_authEnvelopedData) {
        return base::Error(
            ErrorCode::BadInput,
            "the S/MIME part is not encrypted (it is " + std::string(OBJ_nid2sn(type)) + ")",
            type == NID_pkcs7_signed ? "use 'keyfence smime verify'" : "");
    }
    if (!encrypted_to(cms, recipient)) {
        return base::Error(ErrorCode::KeyNotFound,
                           "the message is not encrypted to " + describe(recipient).subject,
                           "decrypt it with the key it was encrypted to");
    }
    return type == NID_id_smime_ct_authEnvelopedData;
}

base::Result<PreparedDecryption> prepare_decryption(std::string_view message, X509* recipient) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    GMimeObject* body = parsed.body();
    KEYFENCE_TRY(check_encrypted_body(body));
    KEYFENCE_TRY_ASSIGN(der, mime::decoded_content(body));
    KEYFENCE_TRY_ASSIGN(cms, cms_from_der(der));
    KEYFENCE_TRY(check_cms_limits(cms.get()));  // docs/limits.md: RecipientInfos, certificates
    KEYFENCE_TRY_ASSIGN(authenticated, check_enveloped(cms.get(), recipient));
    return PreparedDecryption{
        std::move(parsed), std::move(cms),
        authenticated,     authenticated ? "AuthEnvelopedData" : "EnvelopedData",
        der.size(),        sha256_of(der)};
}

base::Result<DecryptResult> finish_decryption(PreparedDecryption& prepared, EVP_PKEY* key,
                                              X509* recipient, const VerifyOptions& verify) {
    // With the certificate given, OpenSSL tries only the RecipientInfo that names it: one
    // private-key operation.
    if (CMS_decrypt_set1_pkey_and_peer(prepared.cms.get(), key, recipient, nullptr) != 1) {
        return decryption_failed();
    }
    // Into memory, never to the output: a GCM tag failure at the end must leave no plaintext.
    base::BioPtr plain(BIO_new(BIO_s_mem()));
    if (CMS_decrypt(prepared.cms.get(), nullptr, nullptr, nullptr, plain.get(), CMS_BINARY) != 1) {
        return decryption_failed();
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(plain.get(), &data);
    std::string entity(data, n > 0 ? static_cast<std::size_t>(n) : 0);
    OPENSSL_cleanse(data, n > 0 ? static_cast<std::size_t>(n) : 0);

    DecryptResult result;
    result.authenticated = prepared.authenticated;
    result.structure = prepared.structure;
    if (is_signed_entity(entity)) {
        KEYFENCE_TRY_ASSIGN(
            signature, verify_entity(entity, mime::sender_headers(prepared.message.get()), verify));
        result.signature = std::move(signature);
    }
    // Garbage from a wrong CBC key is no entity: the one error (stream_decrypt.cpp says why).
    auto parsed = mime::parse_entity(entity);
    if (!parsed) return decryption_failed();
    result.message = prepared.message.with_body(parsed->get());
    return result;
}

}  // namespace keyfence::mail::smime
