#include "mail/smime/signed_data.hpp"

#include <openssl/x509v3.h>

#include <ctime>

#include "base/openssl_error.hpp"
#include "mail/smime/cms_handles.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/cms_limits.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

base::Result<X509StorePtr> make_store(const VerifyOptions& options) {
    X509StorePtr store(X509_STORE_new());
    if (!store) return base::openssl_error(ErrorCode::Internal, "no X.509 store");
    if (options.ca_files.empty()) {
        X509_STORE_set_default_paths(store.get());
        base::clear_openssl_errors();
    }
    for (const auto& file : options.ca_files) {
        if (X509_STORE_load_file(store.get(), file.c_str()) != 1) {
            return base::openssl_error(ErrorCode::Io,
                                       "could not read the trust anchors in " + file);
        }
    }
    return store;
}

std::string iso_time(const struct tm& tm) {
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string signing_time(CMS_SignerInfo* si) {
    const int index = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
    if (index < 0) return {};
    ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, index), 0);
    if (value == nullptr ||
        (value->type != V_ASN1_UTCTIME && value->type != V_ASN1_GENERALIZEDTIME)) {
        return {};
    }
    struct tm tm {};
    if (ASN1_TIME_to_tm(value->value.utctime, &tm) != 1) return {};
    return iso_time(tm);
}

std::string algorithm_name(const X509_ALGOR* alg) {
    if (alg == nullptr) return {};
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
    const int nid = OBJ_obj2nid(oid);
    return nid != NID_undef ? OBJ_nid2sn(nid) : std::string("unknown");
}

std::vector<std::string> entries(X509_NAME* name, int nid) {
    std::vector<std::string> out;
    for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(name, nid, i)) {
        unsigned char* utf8 = nullptr;
        const int n =
            ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
        if (n >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
        OPENSSL_free(utf8);
    }
    return out;
}

// The names a certificate vouches for: what a From: display name may say.
std::vector<std::string> certified_names(X509* cert) {
    X509_NAME* subject = X509_get_subject_name(cert);
    std::vector<std::string> names = entries(subject, NID_commonName);
    for (auto& p : entries(subject, NID_pseudonym)) names.push_back(std::move(p));
    const auto given = entries(subject, NID_givenName);
    const auto surname = entries(subject, NID_surname);
    if (!given.empty() && !surname.empty()) {
        names.push_back(given.front() + " " + surname.front());
        names.push_back(surname.front() + ", " + given.front());
    }
    return names;
}

// The chain of `cert` to a trust anchor, at `options.at` or now, for S/MIME signing: key usage
// digitalSignature or nonRepudiation, extended key usage emailProtection when the certificate
// has the extension (RFC 8550 §4.4; OpenSSL's "smime_sign" purpose).
void check_chain(SignerResult& signer, X509_STORE* store, STACK_OF(X509) * untrusted,
                 const VerifyOptions& options) {
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store, signer.cert.get(), untrusted) != 1 ||
        X509_STORE_CTX_set_default(ctx.get(), "smime_sign") != 1) {
        base::clear_openssl_errors();
        signer.chain_error = "could not set up the certificate check";
        return;
    }
    if (options.at) {
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()),
                                   static_cast<time_t>(*options.at));
    }
    signer.chain_valid = X509_verify_cert(ctx.get()) == 1;
    if (!signer.chain_valid) {
        const int error = X509_STORE_CTX_get_error(ctx.get());
        signer.expired = error == X509_V_ERR_CERT_HAS_EXPIRED;
        signer.chain_error = X509_verify_cert_error_string(error);
        if (X509_STORE_CTX_get_error_depth(ctx.get()) > 0) {
            signer.chain_error += " (a CA certificate of the chain)";
        }
    }
    base::clear_openssl_errors();
}

base::Result<X509StackPtr> untrusted_certificates(CMS_ContentInfo* cms,
                                                  const VerifyOptions& options) {
    X509StackPtr stack(CMS_get1_certs(cms));
    if (!stack) stack.reset(sk_X509_new_null());
    for (const auto& file : options.untrusted_files) {
        KEYFENCE_TRY_ASSIGN(certs, load_certificates(file));
        for (auto& c : certs) sk_X509_push(stack.get(), c.release());
    }
    return stack;
}

// Pushes the content through CMS_dataInit's digest BIOs, then checks each SignerInfo's
// messageDigest (or, without signed attributes, its signature over the content digest).
std::vector<bool> content_digests_match(CMS_ContentInfo* cms, BIO* detached) {
    STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
    std::vector<bool> ok(static_cast<std::size_t>(sk_CMS_SignerInfo_num(infos)), false);
    BIO* chain = CMS_dataInit(cms, detached);
    if (chain == nullptr) {
        base::clear_openssl_errors();
        return ok;
    }
    char buf[16384];
    while (BIO_read(chain, buf, sizeof buf) > 0) {
    }
    for (int i = 0; i < sk_CMS_SignerInfo_num(infos); ++i) {
        ok[static_cast<std::size_t>(i)] =
            CMS_SignerInfo_verify_content(sk_CMS_SignerInfo_value(infos, i), chain) == 1;
    }
    // Free the digest BIOs, never the caller's detached content BIO (as CMS_verify does).
    if (detached != nullptr) {
        while (chain != nullptr && chain != detached) {
            BIO* next = BIO_pop(chain);
            BIO_free(chain);
            chain = next;
        }
    } else {
        BIO_free_all(chain);
    }
    base::clear_openssl_errors();
    return ok;
}

// As content_digests_match, for content that already went through `chain` (the digest BIOs of
// CMS_dataInit over a structure with the same digestAlgorithms).
std::vector<bool> digests_match(CMS_ContentInfo* cms, BIO* chain) {
    STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
    std::vector<bool> ok(static_cast<std::size_t>(sk_CMS_SignerInfo_num(infos)), false);
    for (int i = 0; i < sk_CMS_SignerInfo_num(infos); ++i) {
        ok[static_cast<std::size_t>(i)] =
            CMS_SignerInfo_verify_content(sk_CMS_SignerInfo_value(infos, i), chain) == 1;
    }
    base::clear_openssl_errors();
    return ok;
}

SignerResult describe_signer(CMS_SignerInfo* si) {
    X509* cert = nullptr;
    X509_ALGOR* digest = nullptr;
    X509_ALGOR* signature = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, &cert, &digest, &signature);
    SignerResult signer;
    signer.signing_time = signing_time(si);
    signer.digest_algorithm = algorithm_name(digest);
    signer.signature_algorithm = algorithm_name(signature);
    if (cert != nullptr) {
        X509_up_ref(cert);
        signer.cert.reset(cert);
        signer.certificate = describe(cert);
        signer.names = certified_names(cert);
    }
    return signer;
}

}  // namespace

std::string verification_time(const std::optional<std::int64_t>& at) {
    const time_t t = at ? static_cast<time_t>(*at) : std::time(nullptr);
    struct tm tm {};
    gmtime_r(&t, &tm);
    return iso_time(tm);
}

namespace {

// The content a multipart/signed shows: in memory, or streamed from a BIO the caller owns.
struct Detached {
    const std::string* bytes = nullptr;
    BIO* stream = nullptr;
    BIO* digests = nullptr;  ///< the content already went through these digest BIOs
};

base::Result<SignedDataCheck> check(std::string_view der, const std::optional<Detached>& detached,
                                    const VerifyOptions& options) {
    SignedDataCheck result;
    auto parsed = cms_from_der(der);
    if (!parsed) {
        result.problem_code = "signature_unreadable";
        result.problem = "the signature is not a readable CMS structure: " + parsed.error().context;
        return result;
    }
    CMS_ContentInfo* cms = parsed->get();
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed ||
        CMS_get0_SignerInfos(cms) == nullptr) {
        result.problem_code = "not_signed_data";
        result.problem = "the S/MIME signature part is not CMS SignedData";
        return result;
    }
    KEYFENCE_TRY(check_cms_limits(cms));
    ASN1_OCTET_STRING** econtent = CMS_get0_content(cms);
    const bool has_econtent = econtent != nullptr && *econtent != nullptr;
    // RFC 8551 §3.5.3: the signature of a multipart/signed is detached. Content inside it is a
    // second, unseen text that the signature may really cover (eContent confusion, "Johnny, you
    // are fired" §4.1): never the verdict, but its signers are checked against that hidden
    // content, so that the report can say who signed what.
    const bool hidden_content = detached && has_econtent;
    if (hidden_content) {
        result.problem_code = "econtent_differs";
        result.problem =
            "the detached signature carries content of its own (eContent, " +
            std::to_string(ASN1_STRING_length(*econtent)) +
            " bytes) that is not what the message shows; the signers below are checked against "
            "that hidden content";
    }
    if (detached && !hidden_content) {
        if (detached->bytes != nullptr) result.content = *detached->bytes;
    } else {
        if (!has_econtent) {
            result.problem_code = "no_content";
            result.problem = "the opaque signed-data carries no content";
            return result;
        }
        result.content.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*econtent)),
                              static_cast<std::size_t>(ASN1_STRING_length(*econtent)));
    }
    STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
    if (sk_CMS_SignerInfo_num(infos) == 0 && !hidden_content) {
        result.problem_code = "no_signer_infos";
        result.problem = "the signature has no SignerInfo: it is no signature at all";
        return result;
    }
    KEYFENCE_TRY_ASSIGN(store, make_store(options));
    KEYFENCE_TRY_ASSIGN(untrusted, untrusted_certificates(cms, options));
    // Finds each SignerInfo's certificate among the message's and --chain's certificates.
    CMS_set1_signers_certs(cms, untrusted.get(), 0);
    base::clear_openssl_errors();
    base::BioPtr data;
    if (detached && !hidden_content && detached->stream == nullptr) {
        data.reset(BIO_new_mem_buf(result.content.data(), static_cast<int>(result.content.size())));
    }
    BIO* content =
        detached && !hidden_content && detached->stream != nullptr ? detached->stream : data.get();
    const std::vector<bool> digests = detached && !hidden_content && detached->digests != nullptr
                                          ? digests_match(cms, detached->digests)
                                          : content_digests_match(cms, content);
    for (int i = 0; i < sk_CMS_SignerInfo_num(infos); ++i) {
        CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, i);
        SignerResult signer = describe_signer(si);
        const bool digest_ok = digests[static_cast<std::size_t>(i)];
        if (signer.cert) {
            // With signed attributes the signature covers them, and they carry the digest.
            const bool attrs = CMS_signed_get_attr_count(si) > 0;
            signer.signature_valid = digest_ok && (!attrs || CMS_SignerInfo_verify(si) == 1);
            check_chain(signer, store.get(), untrusted.get(), options);
        } else {
            signer.chain_error = "the signer's certificate is not in the message";
        }
        base::clear_openssl_errors();
        result.signers.push_back(std::move(signer));
    }
    return result;
}

}  // namespace

base::Result<SignedDataCheck> check_signed_data(std::string_view der,
                                                const std::optional<std::string>& detached,
                                                const VerifyOptions& options) {
    if (!detached) return check(der, std::nullopt, options);
    return check(der, Detached{&*detached, nullptr, nullptr}, options);
}

base::Result<SignedDataCheck> check_signed_data_streamed(std::string_view der, BIO* detached,
                                                         const VerifyOptions& options) {
    return check(der, Detached{nullptr, detached, nullptr}, options);
}

base::BioPtr detached_digests(std::string_view der) {
    auto parsed = cms_from_der(der);
    if (!parsed) return {};
    CMS_ContentInfo* cms = parsed->get();
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) return {};
    ASN1_OCTET_STRING** econtent = CMS_get0_content(cms);
    if (econtent != nullptr && *econtent != nullptr) return {};
    base::BioPtr sink(BIO_new(BIO_s_null()));
    if (!sink) return {};
    BIO* chain = CMS_dataInit(cms, sink.get());
    base::clear_openssl_errors();
    if (chain == nullptr) return {};
    sink.release();  // the end of `chain`
    return base::BioPtr(chain);
}

base::Result<SignedDataCheck> check_signed_data_digested(std::string_view der, BIO* digests,
                                                         const VerifyOptions& options) {
    return check(der, Detached{nullptr, nullptr, digests}, options);
}

}  // namespace keyfence::mail::smime
