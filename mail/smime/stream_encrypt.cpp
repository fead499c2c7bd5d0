#include "mail/smime/stream_encrypt.hpp"

#include "base/openssl_error.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/stream_base64.hpp"
#include "mail/smime/stream_frame.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

// Pops and frees the CMS filters BIO_new_CMS pushed in front of `last`.
void free_filters(BIO* chain, BIO* last) {
    while (chain != nullptr && chain != last) {
        BIO* next = BIO_pop(chain);
        BIO_free(chain);
        chain = next;
    }
}

// The canonical body of `body` through a CMS encryption BIO, then base64 (CRLF lines) into
// `encoded`.
base::Status encrypt_body(GMimeObject* body, CMS_ContentInfo* cms, Base64Writer& encoded,
                          const ProgressFn& progress) {
    std::function<bool(std::string_view)> to_base64 = [&encoded](std::string_view bytes) {
        return encoded.write(bytes);
    };
    KEYFENCE_TRY_ASSIGN(der, sink_bio(&to_base64));
    BIO* cms_bio = BIO_new_CMS(der.get(), cms);
    if (cms_bio == nullptr) return base::openssl_error(ErrorCode::Internal, "no CMS BIO");
    std::uint64_t done = 0;
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        done += bytes.size();
        if (progress) progress(done, 0);
        return BIO_write(cms_bio, bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
    });
    const bool written = mime::write_canonical(body, sink.get());
    // BIO_flush finishes the CMS structure (the GCM tag, the end-of-contents octets).
    const bool finished = written && BIO_flush(cms_bio) == 1;
    free_filters(cms_bio, der.get());
    // The last base64 line (padding).
    if (!finished || !encoded.finish()) {
        return base::openssl_error(ErrorCode::Internal, "encryption failed");
    }
    return {};
}
}  // namespace

base::Status encrypt_file(const std::string& path, const std::vector<base::X509Ptr>& recipients,
                          const EncryptOptions& options,
                          const std::function<base::Status(std::string_view)>& out,
                          const ProgressFn& progress) {
    KEYFENCE_TRY_ASSIGN(cms, start_encryption(recipients, options, CMS_BINARY | CMS_STREAM));
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    auto body = mime::add_ref(parsed.body());
    KEYFENCE_TRY_ASSIGN(frame_bytes, pkcs7_mime_frame(parsed, smime_type_for(options)));
    BufferedWriter writer(out);
    writer.write(frame_bytes.head);
    // RFC 8551 §3.3: base64 in lines of 76, CRLF (RFC 2045 §6.8).
    Base64Writer encoded([&writer](std::string_view lines) { return writer.write(lines); });
    if (auto status = encrypt_body(body.get(), cms.get(), encoded, progress); !status) {
        KEYFENCE_TRY(writer.status());
        return status;
    }
    writer.write(frame_bytes.tail);
    return writer.flush();
}

}  // namespace keyfence::mail::smime
