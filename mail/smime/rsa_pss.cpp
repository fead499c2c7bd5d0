#include "mail/smime/rsa_pss.hpp"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/handles.hpp"
#include "base/openssl_error.hpp"

namespace keyfence::mail::smime {
namespace {
using PssParamsPtr = base::CPtr<RSA_PSS_PARAMS, &RSA_PSS_PARAMS_free>;
using AlgorPtr = base::CPtr<X509_ALGOR, &X509_ALGOR_free>;
using Asn1StringPtr = base::CPtr<ASN1_STRING, &ASN1_STRING_free>;
}  // namespace

base::Status set_pss_algorithm(CMS_SignerInfo* si, const EVP_MD* md) {
    PssParamsPtr params(RSA_PSS_PARAMS_new());
    AlgorPtr mgf1_hash(X509_ALGOR_new());
    if (!params || !mgf1_hash) return base::openssl_error(base::ErrorCode::Internal, "PSS");
    params->hashAlgorithm = X509_ALGOR_new();
    params->maskGenAlgorithm = X509_ALGOR_new();
    params->saltLength = ASN1_INTEGER_new();
    if (params->hashAlgorithm == nullptr || params->maskGenAlgorithm == nullptr ||
        params->saltLength == nullptr) {
        return base::openssl_error(base::ErrorCode::Internal, "could not build PSS parameters");
    }
    X509_ALGOR_set_md(params->hashAlgorithm, md);
    X509_ALGOR_set_md(mgf1_hash.get(), md);
    Asn1StringPtr mgf1(ASN1_item_pack(mgf1_hash.get(), ASN1_ITEM_rptr(X509_ALGOR), nullptr));
    if (!mgf1 || ASN1_INTEGER_set(params->saltLength, EVP_MD_get_size(md)) != 1 ||
        X509_ALGOR_set0(params->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE,
                        mgf1.get()) != 1) {
        return base::openssl_error(base::ErrorCode::Internal, "could not build PSS parameters");
    }
    mgf1.release();  // owned by maskGenAlgorithm now
    Asn1StringPtr encoded(ASN1_item_pack(params.get(), ASN1_ITEM_rptr(RSA_PSS_PARAMS), nullptr));
    X509_ALGOR* signature_algorithm = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &signature_algorithm);
    if (!encoded || signature_algorithm == nullptr ||
        X509_ALGOR_set0(signature_algorithm, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE,
                        encoded.get()) != 1) {
        return base::openssl_error(base::ErrorCode::Internal, "could not set the PSS algorithm");
    }
    encoded.release();
    return {};
}

}  // namespace keyfence::mail::smime
