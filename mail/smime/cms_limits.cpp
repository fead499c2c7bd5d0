#include "mail/smime/cms_limits.hpp"

#include <string>

#include "base/openssl_error.hpp"

namespace keyfence::mail::smime {
namespace {

base::Status bound(const char* what, int value, int limit) {
    if (value <= limit) return {};
    return base::Error(base::ErrorCode::BadInput,
                       std::string("the CMS structure exceeds Keyfence's limit on ") + what + " (" +
                           std::to_string(value) + ", at most " + std::to_string(limit) + ")",
                       "see docs/limits.md");
}

}  // namespace

base::Status check_cms_limits(CMS_ContentInfo* cms, const CmsLimits& limits) {
    const int type = OBJ_obj2nid(CMS_get0_type(cms));
    if (type == NID_pkcs7_signed) {
        STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
        KEYFENCE_TRY(bound("SignerInfos", infos != nullptr ? sk_CMS_SignerInfo_num(infos) : 0,
                           limits.max_signer_infos));
        X509StackPtr certs(CMS_get1_certs(cms));
        KEYFENCE_TRY(
            bound("certificates", certs ? sk_X509_num(certs.get()) : 0, limits.max_certificates));
    } else if (type == NID_pkcs7_enveloped || type == NID_id_smime_ct_authEnvelopedData) {
        STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms);
        int recipients = 0;
        for (int i = 0; infos != nullptr && i < sk_CMS_RecipientInfo_num(infos); ++i) {
            CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(infos, i);
            recipients +=
                CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE
                    ? sk_CMS_RecipientEncryptedKey_num(CMS_RecipientInfo_kari_get0_reks(ri))
                    : 1;
        }
        KEYFENCE_TRY(bound("recipients", recipients, limits.max_recipients));
    }
    base::clear_openssl_errors();
    return {};
}

}  // namespace keyfence::mail::smime
