#pragma once
// A throwaway self-signed certificate for the fuzz targets (a recipient, a trust anchor): made
// once per process with a fresh key; never leaves the process.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string_view>

namespace keyfence::fuzz {

/// A self-signed certificate (CN=fuzz, valid for an hour) for a new key of `key_type` ("RSA"
/// 2048 or "EC" P-256). The caller owns it.
inline X509* self_signed_certificate(const char* key_type) {
    EVP_PKEY* key = std::string_view(key_type) == "RSA"
                        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600);
    X509_set_pubkey(c, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("fuzz"), -1, -1, 0);
    X509_set_issuer_name(c, X509_get_subject_name(c));
    X509_sign(c, key, EVP_sha256());
    EVP_PKEY_free(key);
    return c;
}

}  // namespace keyfence::fuzz
