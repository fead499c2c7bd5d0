#include "mail/smime/stream_sign.hpp"

#include <sys/stat.h>

#include "base/openssl_error.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/stream_frame.hpp"
#include "mail/smime/stream_hash.hpp"
#include "mail/smime/stream_signed_data.hpp"

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

// Writes the canonical form of `body` to `next`, hashing it: the one pass over the content.
// Sets the prepared content size and digests.
base::Status hash_body(GMimeObject* body, PreparedFileSignature& p, std::uint64_t total,
                       const ProgressFn& progress,
                       const std::function<bool(std::string_view)>& next,
                       const base::Status& next_status) {
    const EVP_MD* md = hash_md(p.options.hash);
    const bool sha256_too = md != EVP_sha256();  // the prompt shows SHA-256
    // `next` runs on the hashing thread, after each block was hashed.
    BackgroundHasher hash(sha256_too ? std::vector{md, EVP_sha256()} : std::vector{md}, next);
    std::uint64_t done = 0;
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        hash.update(bytes);
        done += bytes.size();
        if (progress) progress(done, total);
        return true;
    });
    const bool written = mime::write_canonical(body, sink.get());
    auto digests = hash.final();  // `next` has had everything, or failed
    if (hash.sink_failed()) {
        KEYFENCE_TRY(next_status);
        return base::Error(ErrorCode::Internal, "could not write the signed content");
    }
    if (!written) return base::Error(ErrorCode::Internal, "GMime could not write the message body");
    p.content_size = done;
    p.digest = digests[0];
    p.sha256 = sha256_too ? digests[1] : digests[0];
    return {};
}

// multipart/signed: the head, then the body entity as it is signed (RFC 8551 §3.5.3).
base::Status prepare_detached(PreparedFileSignature& p, std::uint64_t total, const OutputFn& out,
                              const ProgressFn& progress) {
    // RFC 8551 §3.1.2: the signed bytes must survive a 7-bit hop unchanged.
    g_mime_object_encode(p.message.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    // "From " lines armoured in quoted-printable parts (RFC 8551 §3.1.3): mbox-safe.
    if (!mime::armor_from_lines(p.message.body())) {
        return base::Error(ErrorCode::Internal, "could not re-encode a quoted-printable part");
    }
    auto body = mime::add_ref(p.message.body());
    GMimeMultipartSigned* raw = g_mime_multipart_signed_new();
    p.multipart.reset(GMIME_OBJECT(raw));
    g_mime_object_set_content_type_parameter(p.multipart.get(), "protocol",
                                             "application/pkcs7-signature");
    g_mime_object_set_content_type_parameter(p.multipart.get(), "micalg",
                                             micalg_for(p.options.hash).c_str());
    auto placeholder = mime::base64_part("text", "plain", "", "placeholder");
    g_mime_multipart_add(GMIME_MULTIPART(raw), placeholder.get());
    g_mime_multipart_add(GMIME_MULTIPART(raw), signature_part("").get());
    p.boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(raw));
    KEYFENCE_TRY_ASSIGN(head, frame(p));
    BufferedWriter writer(out);
    writer.write(head.head);
    KEYFENCE_TRY(hash_body(
        body.get(), p, total, progress,
        [&writer](std::string_view bytes) { return writer.write(bytes); }, writer.status()));
    return writer.flush();
}

// Opaque signed-data: the head, then BER SignedData around the body entity, base64 encoded
// (RFC 8551 §3.5.2); no transfer encoding is needed inside DER.
base::Status prepare_opaque(PreparedFileSignature& p, std::uint64_t total, const OutputFn& out,
                            const ProgressFn& progress) {
    auto body = mime::add_ref(p.message.body());
    KEYFENCE_TRY_ASSIGN(part, pkcs7_mime_frame(p.message, "signed-data"));
    KEYFENCE_TRY_ASSIGN(ber_head, opaque_signed_data_head(hash_md(p.options.hash)));
    p.ber_head = std::move(ber_head);
    p.frame_tail = std::move(part.tail);
    BufferedWriter writer(out);
    writer.write(part.head);
    p.encoded = std::make_unique<Base64Writer>(
        [&writer](std::string_view lines) { return writer.write(lines); });
    Base64Writer& encoded = *p.encoded;
    encoded.write(p.ber_head);
    // The content in OCTET STRING segments of up to 1 MiB.
    BufferedWriter segments([&encoded, &writer](std::string_view block) -> base::Status {
        if (encoded.write(octet_segment_header(block.size())) && encoded.write(block)) return {};
        if (!writer.status()) return writer.status();
        return base::Error(ErrorCode::Internal, "could not encode the signed content");
    });
    base::Status hashed = hash_body(
        body.get(), p, total, progress,
        [&segments](std::string_view bytes) { return segments.write(bytes); }, segments.status());
    // The last segment still goes through `encoded` to `writer`: before its sink is cut.
    if (hashed) hashed = segments.flush();
    p.encoded->set_sink([](std::string_view) { return false; });  // `writer` ends here
    KEYFENCE_TRY(hashed);
    return writer.flush();
}
}  // namespace

base::Result<PreparedFileSignature> prepare_file_signature(const std::string& path,
                                                           const SignOptions& options,
                                                           const OutputFn& out,
                                                           const ProgressFn& progress) {
    if (hash_md(options.hash) == nullptr) {
        return base::Error(ErrorCode::Usage, "unknown hash " + options.hash);
    }
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    PreparedFileSignature prepared{.message = std::move(parsed), .options = options};
    const std::uint64_t total = file_size(path);
    if (options.opaque) {
        KEYFENCE_TRY(prepare_opaque(prepared, total, out, progress));
    } else {
        KEYFENCE_TRY(prepare_detached(prepared, total, out, progress));
    }
    return prepared;
}

base::Status finish_file_signature(PreparedFileSignature& prepared, EVP_PKEY* key, X509* signer,
                                   const std::vector<base::X509Ptr>& chain, const OutputFn& out) {
    // The opaque structure is the detached one with the content streamed inside.
    SignOptions detached = prepared.options;
    detached.opaque = false;
    KEYFENCE_TRY_ASSIGN(cms,
                        build_signed_data({detached, prepared.digest, {}}, key, signer, chain));
    KEYFENCE_TRY(check_token_signature(cms.get()));
    KEYFENCE_TRY_ASSIGN(der, cms_to_der(cms.get()));
    if (prepared.options.opaque) {
        if (!prepared.encoded) return base::Error(ErrorCode::Internal, "phase 1 did not run");
        KEYFENCE_TRY_ASSIGN(tail, opaque_signed_data_tail(der, prepared.ber_head));
        BufferedWriter writer(out);
        prepared.encoded->set_sink([&writer](std::string_view l) { return writer.write(l); });
        const bool encoded = prepared.encoded->write(tail) && prepared.encoded->finish();
        prepared.encoded->set_sink([](std::string_view) { return false; });
        KEYFENCE_TRY(writer.status());
        if (!encoded) return base::Error(ErrorCode::Internal, "could not encode the signature");
        writer.write(prepared.frame_tail);
        return writer.flush();
    }
    auto* multipart = GMIME_MULTIPART(prepared.multipart.get());
    // The placeholder's reference comes back to us (transfer full).
    if (GMimeObject* placeholder = g_mime_multipart_remove_at(multipart, 1)) {
        g_object_unref(placeholder);
    }
    g_mime_multipart_add(multipart, signature_part(der).get());
    KEYFENCE_TRY_ASSIGN(done, frame(prepared));
    return out(done.tail);
}

}  // namespace keyfence::mail::smime
