#include "mail/smime/stream_sign.hpp"

#include <sys/stat.h>

#include "base/openssl_error.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/stream_first_part.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

const EVP_MD* hash_md(const std::string& hash) {
    if (hash == "sha256") return EVP_sha256();
    if (hash == "sha384") return EVP_sha384();
    if (hash == "sha512") return EVP_sha512();
    return nullptr;
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Fault defence: the token's signature over the signed attributes must verify with the
// certificate (the messageDigest attribute is phase 1's digest by construction).
base::Status check_signer_info(CMS_ContentInfo* cms) {
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
}  // namespace

base::Result<PreparedFileSignature> prepare_file_signature(const std::string& path,
                                                           const SignOptions& options,
                                                           const ProgressFn& progress) {
    const EVP_MD* md = hash_md(options.hash);
    if (md == nullptr) return base::Error(ErrorCode::Usage, "unknown hash " + options.hash);
    if (options.opaque) {
        return base::Error(ErrorCode::Usage, "opaque signatures are made in memory");
    }
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    // RFC 8551 §3.1.2: the signed bytes must survive a 7-bit hop unchanged.
    g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    // "From " lines armoured in quoted-printable parts (RFC 8551 §3.1.3): mbox-safe.
    if (!mime::armor_from_lines(parsed.body())) {
        return base::Error(ErrorCode::Internal, "could not re-encode a quoted-printable part");
    }
    KEYFENCE_TRY_ASSIGN(content, TempFile::create());
    Hasher hash(md);
    Hasher sha256(EVP_sha256());
    const std::uint64_t total = file_size(path);
    BufferedWriter file([&](std::string_view block) { return write_fd(content.fd(), block); });
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        hash.update(bytes);
        if (md != EVP_sha256()) sha256.update(bytes);
        if (progress) progress(file.written(), total);
        return file.write(bytes);
    });
    if (!mime::write_canonical(parsed.body(), sink.get())) {
        KEYFENCE_TRY(file.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the message body");
    }
    KEYFENCE_TRY(file.flush());
    const std::uint64_t size = file.written();
    auto digest = hash.final();
    auto sha = md == EVP_sha256() ? digest : sha256.final();
    return PreparedFileSignature{std::move(parsed), std::move(content), size,
                                 std::move(digest), std::move(sha),     options};
}

base::Status finish_file_signature(PreparedFileSignature& prepared, EVP_PKEY* key, X509* signer,
                                   const std::vector<base::X509Ptr>& chain,
                                   const std::function<base::Status(std::string_view)>& out,
                                   const ProgressFn& progress) {
    KEYFENCE_TRY_ASSIGN(
        cms, build_signed_data({prepared.options, prepared.digest, {}}, key, signer, chain));
    KEYFENCE_TRY(check_signer_info(cms.get()));
    KEYFENCE_TRY_ASSIGN(der, cms_to_der(cms.get()));

    // RFC 8551 §3.5.3: multipart/signed whose first part is the signed entity, read back from
    // phase 1's file by a file-backed parser.
    KEYFENCE_TRY_ASSIGN(entity, mime::parse_entity_file(prepared.content.path()));
    GMimeMultipartSigned* raw = g_mime_multipart_signed_new();
    mime::GPtr<GMimeObject> multipart(GMIME_OBJECT(raw));
    g_mime_object_set_content_type_parameter(multipart.get(), "protocol",
                                             "application/pkcs7-signature");
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg",
                                             micalg_for(prepared.options.hash).c_str());
    auto signature = mime::base64_part("application", "pkcs7-signature", der, "smime.p7s");
    g_mime_multipart_add(GMIME_MULTIPART(raw), entity.get());
    g_mime_multipart_add(GMIME_MULTIPART(raw), signature.get());
    const std::string boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(raw));

    // GMime must write the signed part byte for byte as it was hashed; check rather than trust.
    Hasher written_sha256(EVP_sha256());
    FirstPartScanner signed_part(boundary,
                                 [&](std::string_view bytes) { written_sha256.update(bytes); });
    BufferedWriter writer(out);
    const std::uint64_t total = prepared.content_size;
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        signed_part.feed(bytes);
        if (progress) progress(writer.written(), total);
        return writer.write(bytes);
    });
    if (!prepared.message.write_with_body(multipart.get(), sink.get())) {
        KEYFENCE_TRY(writer.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the signed message");
    }
    KEYFENCE_TRY(writer.flush());
    if (!signed_part.finish() || written_sha256.final() != prepared.sha256) {
        return base::Error(ErrorCode::Internal,
                           "GMime did not write the signed part as it was signed; nothing was "
                           "written");
    }
    return {};
}

}  // namespace keyfence::mail::smime
