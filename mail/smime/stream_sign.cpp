#include "mail/smime/stream_sign.hpp"

#include <sys/stat.h>

#include "base/openssl_error.hpp"
#include "mail/smime/cms_io.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// The output message around the signed part: GMime writes it with a placeholder first part,
// and the bytes before and after that part are kept. The boundary is random and fixed once
// generated, so the head is the same whatever the signature part holds.
struct Frame {
    std::string head;  ///< up to and including the first delimiter line
    std::string tail;  ///< from the line end before the second delimiter on
};

base::Result<Frame> frame(PreparedFileSignature& p) {
    const std::string whole = p.message.with_body(p.multipart.get());
    const std::string first = "--" + p.boundary + "\r\n";
    const std::string second = "\r\n--" + p.boundary + "\r\n";
    const std::size_t a = whole.find(first);
    const std::size_t b = a == std::string::npos ? a : whole.find(second, a + first.size());
    if (b == std::string::npos) {
        return base::Error(ErrorCode::Internal, "GMime did not write the multipart/signed frame");
    }
    return Frame{whole.substr(0, a + first.size()), whole.substr(b)};
}

mime::GPtr<GMimeObject> signature_part(std::string_view der) {
    return mime::base64_part("application", "pkcs7-signature", der, "smime.p7s");
}
}  // namespace

base::Result<PreparedFileSignature> prepare_file_signature(const std::string& path,
                                                           const SignOptions& options,
                                                           const OutputFn& out,
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
    auto body = mime::add_ref(parsed.body());
    // RFC 8551 §3.5.3: multipart/signed; its first part is the body entity, written below.
    GMimeMultipartSigned* raw = g_mime_multipart_signed_new();
    mime::GPtr<GMimeObject> multipart(GMIME_OBJECT(raw));
    g_mime_object_set_content_type_parameter(multipart.get(), "protocol",
                                             "application/pkcs7-signature");
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg",
                                             micalg_for(options.hash).c_str());
    auto placeholder = mime::base64_part("text", "plain", "", "placeholder");
    g_mime_multipart_add(GMIME_MULTIPART(raw), placeholder.get());
    g_mime_multipart_add(GMIME_MULTIPART(raw), signature_part("").get());
    PreparedFileSignature prepared{std::move(parsed),
                                   std::move(multipart),
                                   g_mime_multipart_get_boundary(GMIME_MULTIPART(raw)),
                                   0,
                                   {},
                                   {},
                                   options};
    KEYFENCE_TRY_ASSIGN(head, frame(prepared));

    Hasher hash(md);
    Hasher sha256(EVP_sha256());
    const std::uint64_t total = file_size(path);
    BufferedWriter writer(out);
    writer.write(head.head);
    const std::uint64_t head_size = writer.written();
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        hash.update(bytes);
        if (md != EVP_sha256()) sha256.update(bytes);
        if (progress) progress(writer.written(), total);
        return writer.write(bytes);
    });
    if (!mime::write_canonical(body.get(), sink.get())) {
        KEYFENCE_TRY(writer.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the message body");
    }
    KEYFENCE_TRY(writer.flush());
    prepared.content_size = writer.written() - head_size;
    prepared.digest = hash.final();
    prepared.sha256 = md == EVP_sha256() ? prepared.digest : sha256.final();
    return prepared;
}

base::Status finish_file_signature(PreparedFileSignature& prepared, EVP_PKEY* key, X509* signer,
                                   const std::vector<base::X509Ptr>& chain, const OutputFn& out) {
    KEYFENCE_TRY_ASSIGN(
        cms, build_signed_data({prepared.options, prepared.digest, {}}, key, signer, chain));
    KEYFENCE_TRY(check_token_signature(cms.get()));
    KEYFENCE_TRY_ASSIGN(der, cms_to_der(cms.get()));
    auto* multipart = GMIME_MULTIPART(prepared.multipart.get());
    g_mime_multipart_remove_at(multipart, 1);
    g_mime_multipart_add(multipart, signature_part(der).get());
    KEYFENCE_TRY_ASSIGN(done, frame(prepared));
    return out(done.tail);
}

}  // namespace keyfence::mail::smime
