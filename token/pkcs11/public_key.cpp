#include "token/pkcs11/public_key.hpp"

#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>

#include "base/hex.hpp"
#include "base/openssl_error.hpp"
#include "token/key_builders.hpp"

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

using NamePtr = base::CPtr<GENERAL_NAMES, &GENERAL_NAMES_free>;

// CKA_EC_POINT is a DER OCTET STRING holding the point (PKCS#11 3.0 §2.3.3); some modules
// return the bare point, so accept both.
std::vector<std::uint8_t> unwrap_ec_point(const std::vector<std::uint8_t>& value) {
    const unsigned char* p = value.data();
    ASN1_OCTET_STRING* os = d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(value.size()));
    if (os == nullptr || p != value.data() + value.size()) {
        ASN1_OCTET_STRING_free(os);
        base::clear_openssl_errors();
        return value;
    }
    std::vector<std::uint8_t> point(os->data, os->data + os->length);
    ASN1_OCTET_STRING_free(os);
    return point;
}

std::string iso_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string name_line(const X509_NAME* name) {
    base::BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}
}  // namespace

std::string curve_name(std::span<const std::uint8_t> ec_params) {
    const unsigned char* p = ec_params.data();
    base::Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(ec_params.size())));
    if (!oid) {
        base::clear_openssl_errors();
        // PKCS#11 3.0 §2.3.5 also allows a PrintableString curve name for Edwards curves.
        const std::string printable(ec_params.begin(), ec_params.end());
        if (printable.find("edwards25519") != std::string::npos) return "Ed25519";
        if (printable.find("edwards448") != std::string::npos) return "Ed448";
        return {};
    }
    const int nid = OBJ_obj2nid(oid.get());
    if (nid == NID_ED25519) return "Ed25519";
    if (nid == NID_ED448) return "Ed448";
    if (nid == NID_X25519) return "X25519";
    if (const char* nist = EC_curve_nid2nist(nid)) return nist;
    if (nid != NID_undef) return OBJ_nid2sn(nid);
    return {};
}

base::Result<base::EvpPkeyPtr> public_key_from_object(const Session& session,
                                                      CK_OBJECT_HANDLE object, CK_KEY_TYPE type) {
    if (type == CKK_RSA) {
        KEYFENCE_TRY_ASSIGN(modulus, session.attribute(object, CKA_MODULUS));
        KEYFENCE_TRY_ASSIGN(exponent, session.attribute(object, CKA_PUBLIC_EXPONENT));
        if (!modulus || !exponent) {
            return base::Error(ErrorCode::BadInput, "the RSA public key object is incomplete");
        }
        return rsa_public_key(*modulus, *exponent);
    }
    if (type == CKK_EC) {
        KEYFENCE_TRY_ASSIGN(params, session.attribute(object, CKA_EC_PARAMS));
        KEYFENCE_TRY_ASSIGN(point, session.attribute(object, CKA_EC_POINT));
        if (!params || !point) {
            return base::Error(ErrorCode::BadInput, "the EC public key object is incomplete");
        }
        const unsigned char* p = params->data();
        base::Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params->size())));
        const int nid = oid ? OBJ_obj2nid(oid.get()) : NID_undef;
        if (nid == NID_undef) {
            return base::openssl_error(ErrorCode::Unsupported, "the key's curve is not known");
        }
        return ec_public_key(OBJ_nid2sn(nid), unwrap_ec_point(*point));
    }
    return base::Error(ErrorCode::Unsupported, "Keyfence reads RSA and EC public keys only");
}

base::Result<CertificateSummary> summarize_certificate(std::span<const std::uint8_t> der) {
    const unsigned char* p = der.data();
    base::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) return base::openssl_error(ErrorCode::BadInput, "the certificate is malformed");
    CertificateSummary s;
    s.subject = name_line(X509_get_subject_name(cert.get()));
    s.issuer = name_line(X509_get_issuer_name(cert.get()));
    s.not_before = iso_time(X509_get0_notBefore(cert.get()));
    s.not_after = iso_time(X509_get0_notAfter(cert.get()));
    NamePtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type != GEN_EMAIL) continue;
        const ASN1_IA5STRING* email = name->d.rfc822Name;
        s.emails.emplace_back(reinterpret_cast<const char*>(email->data),
                              static_cast<std::size_t>(email->length));
    }
    const X509_NAME* subject = X509_get_subject_name(cert.get());
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) >= 0;) {
        const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        std::string email(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                          static_cast<std::size_t>(ASN1_STRING_length(value)));
        if (std::find(s.emails.begin(), s.emails.end(), email) == s.emails.end()) {
            s.emails.push_back(std::move(email));
        }
    }
    s.sha256 = sha256_hex(der);
    s.der.assign(der.begin(), der.end());
    base::clear_openssl_errors();
    return s;
}

base::Result<base::EvpPkeyPtr> certificate_public_key(std::span<const std::uint8_t> der) {
    const unsigned char* p = der.data();
    base::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) return base::openssl_error(ErrorCode::BadInput, "the certificate is malformed");
    base::EvpPkeyPtr key(X509_get_pubkey(cert.get()));
    if (!key)
        return base::openssl_error(ErrorCode::Unsupported, "the certificate's key is unreadable");
    return key;
}

std::vector<std::uint8_t> spki_der(EVP_PKEY* key) {
    unsigned char* out = nullptr;
    const int len = i2d_PUBKEY(key, &out);
    if (len <= 0) return {};
    std::vector<std::uint8_t> der(out, out + len);
    OPENSSL_free(out);
    return der;
}

base::Result<base::EvpPkeyPtr> public_key_from_spki(std::span<const std::uint8_t> der) {
    const unsigned char* p = der.data();
    base::EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!key) return base::openssl_error(ErrorCode::BadInput, "the public key is malformed");
    return key;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    return base::to_hex({md, len});
}

}  // namespace keyfence::token::pkcs11
