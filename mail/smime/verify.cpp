#include "mail/smime/verify.hpp"

#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "base/openssl_error.hpp"
#include "mail/mime/message.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/smime/cms_handles.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/stream_first_part.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

struct SignedParts {
    std::string format;
    std::string content;  ///< detached: the first part's bytes; opaque: filled from the CMS
    std::string der;
    bool detached = false;
    base::BioPtr stream;  ///< detached, from a file: the first part, streamed (content empty)
};

// A message in a file: the detached content is read from it as CMS_verify needs it.
struct FileSource {
    std::string path;
    ContentSink tee;
};

std::string lower_param(GMimeObject* object, const char* name) {
    GMimeContentType* type = g_mime_object_get_content_type(object);
    const char* v = type != nullptr ? g_mime_content_type_get_parameter(type, name) : nullptr;
    std::string s = v != nullptr ? v : "";
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool is_pkcs7_mime(const std::string& type) {
    return type == "application/pkcs7-mime" || type == "application/x-pkcs7-mime";
}

// The signed content and the CMS bytes of an S/MIME signed entity; nullopt when the entity is
// not S/MIME signed. `raw` holds the entity exactly as received.
base::Result<std::optional<SignedParts>> signed_parts(GMimeObject* entity, std::string_view raw,
                                                      const FileSource* file = nullptr) {
    const std::string type = mime::mime_type(entity);
    if (type == "multipart/signed") {
        const std::string protocol = lower_param(entity, "protocol");
        if (protocol != "application/pkcs7-signature" &&
            protocol != "application/x-pkcs7-signature") {
            return base::Error(ErrorCode::BadInput, "a multipart/signed message with protocol \"" +
                                                        protocol + "\" is not S/MIME");
        }
        auto* multipart = GMIME_MULTIPART(entity);
        if (g_mime_multipart_get_count(multipart) != 2) {
            return base::Error(ErrorCode::BadInput,
                               "a multipart/signed body must have exactly two parts (RFC 1847)");
        }
        SignedParts parts{"multipart/signed", {}, {}, true, {}};
        KEYFENCE_TRY_ASSIGN(der, mime::decoded_content(g_mime_multipart_get_part(multipart, 1)));
        parts.der = std::move(der);
        if (file != nullptr) {
            KEYFENCE_TRY_ASSIGN(
                stream,
                first_part_bio(file->path, g_mime_multipart_get_boundary(multipart), file->tee));
            parts.stream = std::move(stream);
            return std::optional<SignedParts>(std::move(parts));
        }
        KEYFENCE_TRY_ASSIGN(content,
                            mime::first_body_part(raw, g_mime_multipart_get_boundary(multipart)));
        parts.content = std::move(content);
        return std::optional<SignedParts>(std::move(parts));
    }
    if (is_pkcs7_mime(type)) {
        const std::string smime_type = lower_param(entity, "smime-type");
        if (!smime_type.empty() && smime_type != "signed-data") return std::optional<SignedParts>();
        KEYFENCE_TRY_ASSIGN(der, mime::decoded_content(entity));
        return std::optional<SignedParts>(
            SignedParts{"application/pkcs7-mime signed-data", {}, std::move(der), false, {}});
    }
    return std::optional<SignedParts>();
}

// True when a part below `entity` is S/MIME signed: the message is signed only in part.
bool contains_signed_part(GMimeObject* entity) {
    if (!GMIME_IS_MULTIPART(entity)) return false;
    auto* multipart = GMIME_MULTIPART(entity);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
        GMimeObject* part = g_mime_multipart_get_part(multipart, i);
        const std::string type = mime::mime_type(part);
        if (type == "multipart/signed" ||
            (is_pkcs7_mime(type) && lower_param(part, "smime-type") == "signed-data") ||
            contains_signed_part(part)) {
            return true;
        }
    }
    return false;
}

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
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string algorithm_name(const X509_ALGOR* alg) {
    if (alg == nullptr) return {};
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
    const int nid = OBJ_obj2nid(oid);
    return nid != NID_undef ? OBJ_nid2sn(nid) : std::string("unknown");
}

// The chain of `cert` to a trust anchor, at the current time, for S/MIME signing: key usage
// digitalSignature or nonRepudiation, extended key usage emailProtection when the certificate
// has the extension (RFC 8550 §4.4; OpenSSL's "smime_sign" purpose).
void check_chain(SignerResult& signer, X509_STORE* store, STACK_OF(X509) * untrusted) {
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store, signer.cert.get(), untrusted) != 1 ||
        X509_STORE_CTX_set_default(ctx.get(), "smime_sign") != 1) {
        base::clear_openssl_errors();
        signer.chain_error = "could not set up the certificate check";
        return;
    }
    signer.chain_valid = X509_verify_cert(ctx.get()) == 1;
    if (!signer.chain_valid) {
        signer.chain_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    }
    base::clear_openssl_errors();
}

base::Result<VerifyResult> check(SignedParts parts, const std::vector<std::string>& from,
                                 const VerifyOptions& options) {
    KEYFENCE_TRY_ASSIGN(cms, cms_from_der(parts.der));
    if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
        return base::Error(ErrorCode::BadInput, "the S/MIME part is not CMS signed-data");
    }
    if (!parts.detached) {
        ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
        if (content == nullptr || *content == nullptr) {
            return base::Error(ErrorCode::BadInput, "the signed-data carries no content");
        }
        parts.content.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*content)),
                             static_cast<std::size_t>(ASN1_STRING_length(*content)));
    }
    VerifyResult result;
    result.format = parts.format;
    result.from_addresses = from;
    KEYFENCE_TRY_ASSIGN(store, make_store(options));
    base::BioPtr data(parts.stream
                          ? std::move(parts.stream)
                          : base::BioPtr(BIO_new_mem_buf(parts.content.data(),
                                                         static_cast<int>(parts.content.size()))));
    // The signatures over the signed attributes and the content digest, no chain yet.
    const bool signatures_ok =
        CMS_verify(cms.get(), nullptr, nullptr, parts.detached ? data.get() : nullptr, nullptr,
                   CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY | CMS_NOCRL) == 1;
    base::clear_openssl_errors();
    X509StackPtr untrusted(CMS_get1_certs(cms.get()));
    STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
    for (int i = 0; i < sk_CMS_SignerInfo_num(infos); ++i) {
        CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, i);
        X509* cert = nullptr;
        X509_ALGOR* digest = nullptr;
        X509_ALGOR* signature = nullptr;
        CMS_SignerInfo_get0_algs(si, nullptr, &cert, &digest, &signature);
        SignerResult signer;
        signer.signature_valid = signatures_ok;
        signer.signing_time = signing_time(si);
        signer.digest_algorithm = algorithm_name(digest);
        signer.signature_algorithm = algorithm_name(signature);
        if (cert != nullptr) {
            X509_up_ref(cert);
            signer.cert.reset(cert);
            signer.certificate = describe(cert);
            check_chain(signer, store.get(), untrusted.get());
        } else {
            signer.chain_error = "the signer's certificate is not in the message";
        }
        result.signers.push_back(std::move(signer));
    }
    result.content = std::move(parts.content);
    return result;
}

void judge(VerifyResult& r) {
    if (r.from_addresses.size() == 1) {
        for (const auto& s : r.signers) {
            if (has_email(s.certificate.emails, r.from_addresses.front())) r.from_matches = true;
        }
    }
    if (r.signers.empty()) {
        r.failure = "the message has no signer";
        return;
    }
    for (const auto& s : r.signers) {
        if (!s.signature_valid) {
            r.failure =
                "the signature does not match the content: the message was changed "
                "after it was signed, or the signature is broken";
            return;
        }
    }
    for (const auto& s : r.signers) {
        if (!s.chain_valid) {
            r.failure = "the signer's certificate is not trusted: " + s.chain_error;
            return;
        }
    }
    if (!r.from_matches) {
        std::string signer_addresses;
        for (const auto& s : r.signers) {
            for (const auto& e : s.certificate.emails) {
                signer_addresses += (signer_addresses.empty() ? "" : ", ") + e;
            }
        }
        std::string from;
        for (const auto& a : r.from_addresses) from += (from.empty() ? "" : ", ") + a;
        r.failure = "the From: header (" + (from.empty() ? std::string("none") : from) +
                    ") is not the signer's address (" +
                    (signer_addresses.empty() ? std::string("none") : signer_addresses) +
                    "): the signature is valid, but not from the sender this message claims";
    }
}

base::Result<VerifyResult> verify_object(GMimeObject* entity, std::string_view raw,
                                         const std::vector<std::string>& from,
                                         const VerifyOptions& options,
                                         const FileSource* file = nullptr) {
    KEYFENCE_TRY_ASSIGN(parts, signed_parts(entity, raw, file));
    if (!parts) {
        VerifyResult r;
        r.from_addresses = from;
        r.failure = contains_signed_part(entity)
                        ? "only a part of this message is signed, not the message as a whole; "
                          "the rest could have been added by anyone"
                        : "the message is not S/MIME signed";
        return r;
    }
    KEYFENCE_TRY_ASSIGN(result, check(std::move(*parts), from, options));
    judge(result);
    return result;
}
}  // namespace

base::Result<VerifyResult> verify_message(std::string_view message, const VerifyOptions& options) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    return verify_object(parsed.body(), message, parsed.headers().from_addresses, options);
}

base::Result<VerifyResult> verify_message_file(const std::string& path,
                                               const VerifyOptions& options, ContentSink content) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    if (mime::mime_type(parsed.body()) != "multipart/signed") {
        // Opaque signed-data is parsed whole by OpenSSL (d2i): read into memory.
        std::string bytes;
        KEYFENCE_TRY(read_chunks(path, [&](std::string_view chunk) { bytes.append(chunk); }));
        KEYFENCE_TRY_ASSIGN(result, verify_message(bytes, options));
        if (content && !result.content.empty()) content(result.content);
        return result;
    }
    const FileSource file{path, std::move(content)};
    return verify_object(parsed.body(), {}, parsed.headers().from_addresses, options, &file);
}

bool is_signed_entity(std::string_view entity) {
    auto parsed = mime::parse_entity(entity);
    if (!parsed) return false;
    auto parts = signed_parts(parsed->get(), entity);
    return parts && parts->has_value();
}

base::Result<VerifyResult> verify_entity(std::string_view entity,
                                         const std::vector<std::string>& from_addresses,
                                         const VerifyOptions& options) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::parse_entity(entity));
    return verify_object(parsed.get(), entity, from_addresses, options);
}

}  // namespace keyfence::mail::smime
