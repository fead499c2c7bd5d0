#include "mail/smime/stream_encrypt.hpp"

#include "base/openssl_error.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

constexpr long k_write_buffer = 1 << 20;

// Streams the canonical body of `message` through a CMS encryption BIO into `der_fd`.
base::Status encrypt_body(mime::Message& message, CMS_ContentInfo* cms, int der_fd,
                          std::uint64_t total, const ProgressFn& progress) {
    base::BioPtr file(BIO_new_fd(der_fd, BIO_NOCLOSE));
    base::BioPtr buffered(BIO_new(BIO_f_buffer()));
    if (!file || !buffered || BIO_set_write_buffer_size(buffered.get(), k_write_buffer) != 1) {
        return base::openssl_error(ErrorCode::Internal, "no BIO");
    }
    BIO* chain = BIO_push(buffered.release(), file.release());
    base::BioPtr out(chain);
    // BIO_new_CMS pushes the CMS filters in front of `out`; the chain is freed through `out`
    // once the filters are popped again.
    BIO* cms_bio = BIO_new_CMS(out.get(), cms);
    if (cms_bio == nullptr) return base::openssl_error(ErrorCode::Internal, "no CMS BIO");
    std::uint64_t done = 0;
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        done += bytes.size();
        if (progress) progress(done, total);
        return BIO_write(cms_bio, bytes.data(), static_cast<int>(bytes.size())) ==
               static_cast<int>(bytes.size());
    });
    const bool written = mime::write_canonical(message.body(), sink.get());
    // BIO_flush finishes the CMS structure (the GCM tag, the end-of-contents octets).
    const bool finished = written && BIO_flush(cms_bio) == 1;
    // Free the CMS filters down to (not including) our file chain.
    while (cms_bio != nullptr && cms_bio != out.get()) {
        BIO* next = BIO_pop(cms_bio);
        BIO_free(cms_bio);
        cms_bio = next;
    }
    if (!finished || BIO_flush(out.get()) != 1) {
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
    KEYFENCE_TRY_ASSIGN(der, TempFile::create());
    KEYFENCE_TRY(encrypt_body(parsed, cms.get(), der.fd(), 0, progress));
    auto der_stream = mime::file_stream(der.path());
    if (!der_stream) return base::Error(ErrorCode::Io, "cannot read " + der.path());
    auto part =
        mime::base64_part_from_stream("application", "pkcs7-mime", der_stream.get(), "smime.p7m");
    g_mime_object_set_content_type_parameter(part.get(), "smime-type", smime_type_for(options));
    BufferedWriter writer(out);
    auto sink = mime::sink_stream([&](std::string_view bytes) { return writer.write(bytes); });
    if (!parsed.write_with_body(part.get(), sink.get())) {
        KEYFENCE_TRY(writer.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the encrypted message");
    }
    return writer.flush();
}

}  // namespace keyfence::mail::smime
