#include "mail/smime/sign.hpp"

#include <openssl/rsa.h>

#include "base/openssl_error.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/smime/cms_handles.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/rsa_pss.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

std::vector<std::uint8_t> digest_of(const EVP_MD* md, std::string_view bytes) {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(EVP_MD_get_size(md)));
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, md, nullptr);
    out.resize(len);
    return out;
}

}  // namespace

// The SignerInfo, signed once by `key`. CMS_PARTIAL keeps OpenSSL from hashing the content
// itself; the messageDigest attribute carries phase 1's digest.
base::Result<CmsPtr> build_signed_data(const SignedDataInput& p, EVP_PKEY* key, X509* signer,
                                       const std::vector<base::X509Ptr>& chain) {
    const unsigned int flags = CMS_PARTIAL | CMS_BINARY | (p.options.opaque ? 0 : CMS_DETACHED);
    CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
    if (!cms) return base::openssl_error(ErrorCode::Internal, "could not start a CMS signature");
    for (const auto& c : chain) CMS_add1_cert(cms.get(), c.get());
    // CMS_CADES adds ESS signingCertificateV2 (RFC 5035); without CMS_NOSMIMECAP OpenSSL adds
    // SMIMECapabilities (RFC 8551 §2.5.2); CMS_KEY_PARAM lets us set the PSS padding first.
    const unsigned int key_param = p.options.pss ? CMS_KEY_PARAM : 0;
    CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer, key, hash_md(p.options.hash),
                                         CMS_PARTIAL | key_param | CMS_CADES | CMS_BINARY);
    if (si == nullptr) {
        return base::openssl_error(ErrorCode::Unsupported,
                                   "the key and its certificate cannot make a CMS signature");
    }
    if (p.options.pss) {
        EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
        // RFC 4056 §3: salt length = hash length, MGF1 with the same hash.
        if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) {
            return base::openssl_error(ErrorCode::Unsupported, "RSA-PSS is not possible here");
        }
        KEYFENCE_TRY(set_pss_algorithm(si, hash_md(p.options.hash)));
    }
    // RFC 5652 §5.3: contentType and messageDigest are required once signed attributes exist.
    if (CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
                                    p.digest.data(), static_cast<int>(p.digest.size())) <= 0 ||
        CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                    OBJ_nid2obj(NID_pkcs7_data), -1) <= 0) {
        return base::openssl_error(ErrorCode::Internal, "could not add the signed attributes");
    }
    if (p.options.opaque) {
        ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
        if (content == nullptr || *content == nullptr ||
            ASN1_OCTET_STRING_set(*content,
                                  reinterpret_cast<const unsigned char*>(p.opaque_content.data()),
                                  static_cast<int>(p.opaque_content.size())) != 1) {
            return base::openssl_error(ErrorCode::Internal, "could not embed the content");
        }
        (*content)->flags &= ~ASN1_STRING_FLAG_CONT;  // present, not to be streamed in
    }
    // The one private-key operation: the token signs the DER of the signed attributes
    // (signingTime is added here, RFC 8551 §2.5.1).
    if (CMS_SignerInfo_sign(si) != 1) {
        return base::openssl_error(ErrorCode::ModuleFailure, "the token did not sign");
    }
    return cms;
}

namespace {
// multipart/signed (RFC 8551 §3.5.3) whose first part is the exact bytes signed.
base::Result<std::string> detached_message(PreparedSignature& p, std::string_view der) {
    GMimeMultipartSigned* raw = g_mime_multipart_signed_new();
    mime::GPtr<GMimeObject> multipart(GMIME_OBJECT(raw));
    g_mime_object_set_content_type_parameter(multipart.get(), "protocol",
                                             "application/pkcs7-signature");
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg",
                                             micalg_for(p.options.hash).c_str());
    KEYFENCE_TRY_ASSIGN(entity, mime::parse_entity(p.content));
    auto signature = mime::base64_part("application", "pkcs7-signature", der, "smime.p7s");
    g_mime_multipart_add(GMIME_MULTIPART(raw), entity.get());
    g_mime_multipart_add(GMIME_MULTIPART(raw), signature.get());
    return p.message.with_signed_body(multipart.get(), p.content);
}
}  // namespace

const EVP_MD* hash_md(const std::string& hash) {
    if (hash == "sha256") return EVP_sha256();
    if (hash == "sha384") return EVP_sha384();
    if (hash == "sha512") return EVP_sha512();
    return nullptr;
}

// Fault defence: the token's signature over the signed attributes must verify with the
// certificate. The messageDigest attribute is phase 1's digest by construction, so this is the
// whole of what could be wrong, and it costs no second pass over the content.
base::Status check_token_signature(CMS_ContentInfo* cms) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    if (si == nullptr || CMS_SignerInfo_verify(si) != 1) {
        base::clear_openssl_errors();
        return base::Error(ErrorCode::ModuleFailure,
                           "the token's signature does not verify with the certificate; it was "
                           "withheld",
                           "check that the certificate belongs to this key ('keyfence keys')");
    }
    return {};
}

std::string micalg_for(const std::string& hash) {
    return hash.substr(0, 3) + "-" + hash.substr(3);
}

base::Result<PreparedSignature> prepare_signature(std::string_view message,
                                                  const SignOptions& options) {
    const EVP_MD* md = hash_md(options.hash);
    if (md == nullptr) return base::Error(ErrorCode::Usage, "unknown hash " + options.hash);
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    // 8-bit and binary parts would not survive a 7-bit hop byte for byte; opaque signed-data
    // carries its content inside base64 DER and needs no such care (RFC 8551 §3.1.2).
    if (!options.opaque) {
        g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
        // "From " lines armoured in quoted-printable parts (RFC 8551 §3.1.3): mbox-safe.
        if (!mime::armor_from_lines(parsed.body())) {
            return base::Error(ErrorCode::Internal, "could not re-encode a quoted-printable part");
        }
    }
    std::string content = mime::canonical_bytes(parsed.body());
    auto digest = digest_of(md, content);
    auto sha256 = digest_of(EVP_sha256(), content);
    return PreparedSignature{std::move(parsed), std::move(content), std::move(digest),
                             std::move(sha256), options};
}

base::Result<std::string> finish_signature(PreparedSignature& prepared, EVP_PKEY* key, X509* signer,
                                           const std::vector<base::X509Ptr>& chain) {
    KEYFENCE_TRY_ASSIGN(
        cms, build_signed_data({prepared.options, prepared.digest, prepared.content}, key, signer,
                               chain));
    KEYFENCE_TRY(check_token_signature(cms.get()));
    KEYFENCE_TRY_ASSIGN(der, cms_to_der(cms.get()));
    if (!prepared.options.opaque) return detached_message(prepared, der);
    auto part = mime::base64_part("application", "pkcs7-mime", der, "smime.p7m");
    g_mime_object_set_content_type_parameter(part.get(), "smime-type", "signed-data");
    return prepared.message.with_body(part.get());
}

}  // namespace keyfence::mail::smime
