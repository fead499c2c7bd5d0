#include "mail/smime/stream_encrypt.hpp"

#include "base/openssl_error.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

// The placeholder content of the output's pkcs7-mime part, and its base64 line as GMime
// writes it: the output is everything before that line, the streamed CMS, and what follows.
constexpr std::string_view k_marker = "keyfence-streamed-cms-placeholder";

std::string base64_of(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

struct Frame {
    std::string head;
    std::string tail;
};

base::Result<Frame> frame(mime::Message& message, const EncryptOptions& options) {
    auto part = mime::base64_part("application", "pkcs7-mime", k_marker, "smime.p7m");
    g_mime_object_set_content_type_parameter(part.get(), "smime-type", smime_type_for(options));
    const std::string whole = message.with_body(part.get());
    const std::string line = base64_of(k_marker) + "\r\n";
    const std::size_t at = whole.find(line);
    if (at == std::string::npos) {
        return base::Error(ErrorCode::Internal, "GMime did not write the S/MIME part's frame");
    }
    return Frame{whole.substr(0, at), whole.substr(at + line.size())};
}

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
base::Status encrypt_body(GMimeObject* body, CMS_ContentInfo* cms, GMimeStream* encoded,
                          const ProgressFn& progress) {
    std::function<bool(std::string_view)> to_base64 = [encoded](std::string_view bytes) {
        return g_mime_stream_write(encoded, bytes.data(), bytes.size()) ==
               static_cast<ssize_t>(bytes.size());
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
    // Flushing the filter stream completes the base64 (padding, last line).
    if (!finished || g_mime_stream_flush(encoded) != 0) {
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
    KEYFENCE_TRY_ASSIGN(frame_bytes, frame(parsed, options));
    BufferedWriter writer(out);
    writer.write(frame_bytes.head);
    auto output = mime::sink_stream([&](std::string_view bytes) { return writer.write(bytes); });
    // RFC 8551 §3.3: base64 in lines of 76, CRLF (RFC 2045 §6.8).
    mime::GPtr<GMimeStream> encoded(g_mime_stream_filter_new(output.get()));
    mime::GPtr<GMimeFilter> base64(g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_BASE64, TRUE));
    mime::GPtr<GMimeFilter> crlf(g_mime_filter_unix2dos_new(FALSE));
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(encoded.get()), base64.get());
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(encoded.get()), crlf.get());
    if (auto status = encrypt_body(body.get(), cms.get(), encoded.get(), progress); !status) {
        KEYFENCE_TRY(writer.status());
        return status;
    }
    writer.write(frame_bytes.tail);
    return writer.flush();
}

}  // namespace keyfence::mail::smime
