#include "mail/smime/stream_decrypt.hpp"

#include <sys/stat.h>

#include "base/openssl_error.hpp"
#include "base/secure_buffer.hpp"
#include "mail/mime/coverage.hpp"
#include "mail/mime/sender.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/cms_limits.hpp"
#include "mail/smime/decrypt.hpp"
#include "mail/smime/envelope_head.hpp"
#include "mail/smime/stream_base64.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

constexpr long k_buffer = 1 << 20;

// A progress-reporting pass-through on the read side is not needed: the ciphertext BIO reads
// in order, so the plaintext file's growth is the progress.
base::Status decrypt_to(PreparedFileDecryption& p, int plain_fd) {
    KEYFENCE_TRY_ASSIGN(content, ciphertext_bio(p.der.path(), p.skeleton.content_offset));
    base::BioPtr file(BIO_new_fd(plain_fd, BIO_NOCLOSE));
    base::BioPtr buffered(BIO_new(BIO_f_buffer()));
    if (!file || !buffered || BIO_set_write_buffer_size(buffered.get(), k_buffer) != 1) {
        return base::openssl_error(ErrorCode::Internal, "no BIO");
    }
    base::BioPtr out(BIO_push(buffered.release(), file.release()));
    // The content key was unwrapped by CMS_decrypt_set1_pkey_and_peer; CMS_decrypt reads the
    // detached content through the cipher BIO in 4 KiB pieces and fails when the GCM tag (or
    // the CBC padding) does not check at the end (BIO_get_cipher_status).
    if (CMS_decrypt(p.cms.get(), nullptr, nullptr, content.get(), out.get(), CMS_BINARY) != 1 ||
        BIO_flush(out.get()) != 1) {
        return decryption_failed();
    }
    return {};
}

// S/MIME signed at its top, as is_signed_entity() (verify.hpp) judges the bytes: a
// multipart/signed with a PKCS#7 protocol and two parts, or opaque signed-data.
bool is_smime_signed(GMimeObject* entity) {
    const std::string type = mime::mime_type(entity);
    if (type == "multipart/signed") {
        return mime::is_smime_signature_protocol(
                   mime::content_type_parameter(entity, "protocol")) &&
               g_mime_multipart_get_count(GMIME_MULTIPART(entity)) == 2;
    }
    if (type != "application/pkcs7-mime" && type != "application/x-pkcs7-mime") return false;
    const std::string smime_type = mime::content_type_parameter(entity, "smime-type");
    return smime_type.empty() || smime_type == "signed-data";
}
}  // namespace

namespace {
// The CMS structure of the message in the file at `path`, decoded to a temporary file and
// hashed, with its envelope (everything but the encrypted content) parsed by OpenSSL.
struct DecodedEnvelope {
    mime::Message message;
    TempFile der;
    EnvelopedSkeleton skeleton;
    CmsPtr cms;
    std::uint64_t size = 0;
    std::vector<std::uint8_t> sha256;
};

// The part's content, decoded, handed to `sink` in pieces: base64 (RFC 8551 §3.3) by
// Base64Decoder (stream_base64.hpp) from the raw stream in 1 MiB blocks, any other transfer
// encoding by GMime. Errors: BadInput (cannot be decoded), Io.
base::Status decode_part(GMimeDataWrapper* wrapper,
                         const std::function<void(std::string_view)>& sink) {
    GMimeStream* raw = g_mime_data_wrapper_get_stream(wrapper);
    if (g_mime_data_wrapper_get_encoding(wrapper) == GMIME_CONTENT_ENCODING_BASE64 &&
        raw != nullptr && g_mime_stream_reset(raw) == 0) {
        Base64Decoder decoder;
        std::vector<char> block(k_buffer);
        // A bounded GMime stream fails a read at its end rather than returning 0: eos()
        // decides (as canonical.cpp's copy).
        while (!g_mime_stream_eos(raw)) {
            const gssize got = g_mime_stream_read(raw, block.data(), block.size());
            if (got < 0) return base::Error(ErrorCode::Io, "the message cannot be read");
            if (got == 0) break;
            sink(decoder.decode(std::string_view(block.data(), static_cast<std::size_t>(got))));
        }
        sink(decoder.finish());
        return {};
    }
    auto stream = mime::sink_stream([&sink](std::string_view bytes) {
        sink(bytes);
        return true;
    });
    if (g_mime_data_wrapper_write_to_stream(wrapper, stream.get()) < 0) {
        return base::Error(ErrorCode::BadInput, "the part's transfer encoding cannot be decoded");
    }
    return {};
}

base::Result<DecodedEnvelope> decode_envelope(const std::string& path, const ProgressFn& progress) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    KEYFENCE_TRY(check_encrypted_body(parsed.body()));
    GMimeDataWrapper* wrapper = g_mime_part_get_content(GMIME_PART(parsed.body()));
    if (wrapper == nullptr) return base::Error(ErrorCode::BadInput, "the S/MIME part is empty");
    KEYFENCE_TRY_ASSIGN(der, TempFile::create());
    BufferedWriter file([&](std::string_view block) { return write_fd(der.fd(), block); });
    Hasher sha256(EVP_sha256());
    KEYFENCE_TRY(decode_part(wrapper, [&](std::string_view bytes) {
        sha256.update(bytes);
        if (progress) progress(file.written(), 0);
        file.write(bytes);  // a failure is kept for flush()
    }));
    KEYFENCE_TRY(file.flush());
    KEYFENCE_TRY_ASSIGN(skeleton, read_enveloped_skeleton(der.path()));
    KEYFENCE_TRY_ASSIGN(cms, cms_from_der(skeleton.der));
    KEYFENCE_TRY(check_cms_limits(cms.get()));  // docs/limits.md: RecipientInfos, certificates
    const std::uint64_t size = file.written();
    return DecodedEnvelope{std::move(parsed), std::move(der), std::move(skeleton),
                           std::move(cms),    size,           sha256.final()};
}
}  // namespace

base::Result<PreparedFileDecryption> prepare_file_decryption(const std::string& path,
                                                             X509* recipient,
                                                             const ProgressFn& progress) {
    KEYFENCE_TRY_ASSIGN(decoded, decode_envelope(path, progress));
    KEYFENCE_TRY_ASSIGN(authenticated, check_enveloped(decoded.cms.get(), recipient));
    if (!decoded.skeleton.has_content) {
        return base::Error(ErrorCode::BadInput, "the S/MIME part carries no encrypted content");
    }
    return PreparedFileDecryption{std::move(decoded.message),
                                  std::move(decoded.der),
                                  std::move(decoded.skeleton),
                                  std::move(decoded.cms),
                                  authenticated,
                                  authenticated ? "AuthEnvelopedData" : "EnvelopedData",
                                  decoded.size,
                                  std::move(decoded.sha256)};
}

base::Result<std::vector<std::size_t>> file_recipients_among(const std::string& path,
                                                             const std::vector<X509*>& candidates) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    return recipients_among(parsed.body(), candidates);
}

base::Result<FileDecryptResult> finish_file_decryption(
    PreparedFileDecryption& prepared, EVP_PKEY* key, X509* recipient, const VerifyOptions& verify,
    const std::function<base::Status(std::string_view)>& out, const ProgressFn& progress) {
    // With the certificate given, OpenSSL tries only the RecipientInfo that names it: one
    // private-key operation.
    if (CMS_decrypt_set1_pkey_and_peer(prepared.cms.get(), key, recipient, nullptr) != 1) {
        return decryption_failed();
    }
    // Never to the output: a GCM tag failure at the end must leave no plaintext. The
    // temporary file is removed on every path (TempFile).
    KEYFENCE_TRY_ASSIGN(plain, TempFile::create());
    KEYFENCE_TRY(decrypt_to(prepared, plain.fd()));

    FileDecryptResult result;
    result.authenticated = prepared.authenticated;
    result.structure = prepared.structure;
    // CBC has no integrity: a wrong content key — or, after a bad PKCS#1 v1.5 padding, the
    // random key OpenSSL decrypts with instead (its MMA defence) — ends in valid padding once
    // in 256 times, and the garbage is no MIME entity. That must be the one error too, or the
    // message would tell a bad padding from a wrong key (Bleichenbacher, Marvin).
    auto entity = mime::parse_entity_file(plain.path());
    if (!entity) return decryption_failed();
    if (is_smime_signed(entity->get())) {
        // From the file, in constant memory, against the outer From: and Sender: fields,
        // judged as for a whole message.
        KEYFENCE_TRY_ASSIGN(
            signature, verify_entity_file(entity->get(), plain.path(),
                                          mime::sender_headers(prepared.message.get()), verify));
        result.signature = std::move(signature);
    }
    BufferedWriter writer(out);
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        if (progress) progress(writer.written(), prepared.encrypted_size);
        return writer.write(bytes);
    });
    if (!prepared.message.write_with_body(entity->get(), sink.get())) {
        KEYFENCE_TRY(writer.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the decrypted message");
    }
    KEYFENCE_TRY(writer.flush());
    return result;
}

}  // namespace keyfence::mail::smime
