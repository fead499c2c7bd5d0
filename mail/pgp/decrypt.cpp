#include "mail/pgp/decrypt.hpp"

#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "base/hex.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/pgp/decrypt_status.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/gpg_process.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/pgp/packet_bounds.hpp"
#include "mail/pgp/plaintext_stream.hpp"
#include "mail/pgp/range_feed.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/stream_data.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

constexpr std::string_view k_begin = "-----BEGIN PGP MESSAGE-----";
constexpr std::string_view k_end = "-----END PGP MESSAGE-----";

struct Found {
    GMimeObject* entity = nullptr;  ///< multipart/encrypted, or the text part with the block
    std::string ciphertext;
    std::string format;
};

bool is_pgp_encrypted(GMimeObject* object) {
    return mime::mime_type(object) == "multipart/encrypted" &&
           lower_param(object, "protocol") == "application/pgp-encrypted";
}

// RFC 3156 §4: exactly two parts, application/pgp-encrypted then application/octet-stream.
base::Result<GMimeObject*> payload_part(GMimeObject* entity) {
    auto* multipart = GMIME_MULTIPART(entity);
    if (g_mime_multipart_get_count(multipart) != 2 ||
        mime::mime_type(g_mime_multipart_get_part(multipart, 0)) != "application/pgp-encrypted" ||
        mime::mime_type(g_mime_multipart_get_part(multipart, 1)) != "application/octet-stream") {
        return base::Error(ErrorCode::BadInput,
                           "a PGP/MIME encrypted body must be application/pgp-encrypted and "
                           "application/octet-stream (RFC 3156 §4)");
    }
    return g_mime_multipart_get_part(multipart, 1);
}

base::Result<std::string> encrypted_payload(GMimeObject* entity) {
    KEYFENCE_TRY_ASSIGN(part, payload_part(entity));
    return mime::decoded_content(part);
}

// The inline block of a text part, and whether text surrounds it.
std::optional<std::pair<std::string, bool>> inline_block(GMimeObject* part) {
    if (mime::mime_type(part) != "text/plain") return std::nullopt;
    auto text = mime::decoded_content(part);
    if (!text) return std::nullopt;
    const auto begin = text->find(k_begin);
    if (begin == std::string::npos) return std::nullopt;
    const auto end = text->find(k_end, begin);
    const auto stop = end == std::string::npos ? text->size() : end + k_end.size();
    auto is_blank = [](std::string_view s) {
        return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
    };
    const bool surrounded = !is_blank(std::string_view(*text).substr(0, begin)) ||
                            !is_blank(std::string_view(*text).substr(stop));
    return std::make_pair(text->substr(begin, stop - begin), surrounded);
}

// Depth-first: the first encrypted entity; `others` counts parts that are not it.
void find_encrypted(GMimeObject* object, std::optional<Found>& found, bool& mixed) {
    if (is_pgp_encrypted(object)) {
        if (found) {
            mixed = true;
            return;
        }
        found = Found{object, {}, "multipart/encrypted"};
        return;
    }
    if (GMIME_IS_MULTIPART(object)) {
        auto* multipart = GMIME_MULTIPART(object);
        for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
            find_encrypted(g_mime_multipart_get_part(multipart, i), found, mixed);
        }
        return;
    }
    if (auto block = inline_block(object); block && !found) {
        found = Found{object, std::move(block->first), "inline"};
        if (block->second) mixed = true;
        return;
    }
    // Any other leaf beside the encrypted entity is unprotected content.
    mixed = true;
}

// The encrypted entity of a message; `mixed` tells whether anything else is beside it.
base::Result<Found> encrypted_content(mime::Message& message, bool& mixed) {
    std::optional<Found> found;
    find_encrypted(message.body(), found, mixed);
    if (!found) {
        return base::Error(ErrorCode::BadInput, "the message holds no OpenPGP encrypted content",
                           "give a PGP/MIME (multipart/encrypted) or inline PGP message");
    }
    return std::move(*found);
}

// The decrypted entity as a MIME entity: PGP/MIME plaintext is one; inline plaintext is text.
base::Result<mime::GPtr<GMimeObject>> plaintext_entity(const std::string& format,
                                                       const std::string& plaintext) {
    if (format == "multipart/encrypted") return mime::parse_entity(plaintext);
    mime::GPtr<GMimePart> part(g_mime_part_new_with_type("text", "plain"));
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part.get()), "charset", "utf-8");
    auto stream = mime::memory_stream(plaintext);
    mime::GPtr<GMimeDataWrapper> wrapper(
        g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part.get(), wrapper.get());
    g_mime_object_encode(GMIME_OBJECT(part.get()), GMIME_ENCODING_CONSTRAINT_7BIT);
    return mime::GPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

// A multipart/signed entity inside the plaintext (RFC 3156 §6.1, signed then encrypted).
std::optional<VerifyResult> verify_inner(Context& ctx, const std::string& plaintext,
                                         GMimeObject* entity, const std::vector<std::string>& from,
                                         const mime::SenderHeaders& sender) {
    if (mime::mime_type(entity) != "multipart/signed" ||
        lower_param(entity, "protocol") != "application/pgp-signature") {
        return std::nullopt;
    }
    VerifyResult r;
    r.format = "multipart/signed (inside the encryption)";
    r.from_addresses = from;
    auto* multipart = GMIME_MULTIPART(entity);
    const char* boundary = g_mime_multipart_get_boundary(multipart);
    auto content = boundary != nullptr ? mime::first_body_part(plaintext, boundary)
                                       : base::Result<std::string>(base::Error());
    auto signature = g_mime_multipart_get_count(multipart) == 2
                         ? mime::decoded_content(g_mime_multipart_get_part(multipart, 1))
                         : base::Result<std::string>(base::Error());
    if (!content || !signature) {
        r.failure = "the signed entity inside the encryption is malformed";
        return r;
    }
    auto sig = gpgme_data_from(*signature);
    auto text = gpgme_data_from(*content);
    (void)gpgme_op_verify(ctx.get(), sig.get(), text.get(), nullptr);
    r.signers = collect_signatures(ctx);
    r.content = std::move(*content);
    judge(r, sender);
    return r;
}
}  // namespace

base::Result<PreparedDecryption> prepare_decryption(std::string_view message) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    bool mixed = false;
    KEYFENCE_TRY_ASSIGN(found, encrypted_content(parsed, mixed));
    if (found.format == "multipart/encrypted") {
        KEYFENCE_TRY_ASSIGN(payload, encrypted_payload(found.entity));
        found.ciphertext = std::move(payload);
    }
    if (found.ciphertext.find(k_begin) == std::string::npos) {
        return base::Error(ErrorCode::BadInput, "the encrypted part holds no OpenPGP message");
    }
    KEYFENCE_TRY(check_armored_bounds(found.ciphertext));  // docs/limits.md, before gpg
    auto sha256 = sha256_of(found.ciphertext);
    return PreparedDecryption{std::move(parsed), std::move(found.ciphertext),
                              std::move(found.format), mixed, std::move(sha256)};
}

namespace {
// gpg's verdict on a decryption: EFAIL first, then every failure mapped to one error.
base::Error no_integrity_error() {
    return base::Error(ErrorCode::BadInput,
                       "the message is not integrity protected (no MDC): no plaintext is "
                       "released (EFAIL)",
                       "ask the sender to use a current OpenPGP program");
}

base::Error decrypt_failure(Context& ctx, gpgme_error_t err) {
    const auto code = gpg_err_code(err);
    if (code == GPG_ERR_NO_SECKEY) {
        return gpg_error(err, "the message is not encrypted to a key in " + ctx.homedir());
    }
    if (code == GPG_ERR_BAD_PIN || code == GPG_ERR_CANCELED || code == GPG_ERR_PIN_BLOCKED ||
        code == GPG_ERR_CARD_REMOVED || code == GPG_ERR_CARD_NOT_PRESENT) {
        return gpg_error(err, "the token did not decrypt");
    }
    // Every failure of the data is one error, with no plaintext (EFAIL, Marvin).
    return gpg_error(err, "decryption failed: no plaintext was released", ErrorCode::BadInput)
        .with_hint("the message is damaged, forged, or not for this key");
}

base::Status decrypt_status(Context& ctx, gpgme_error_t err) {
    gpgme_decrypt_result_t result = gpgme_op_decrypt_result(ctx.get());
    if (result != nullptr && result->legacy_cipher_nomdc) return no_integrity_error();
    if (err != 0) return decrypt_failure(ctx, err);
    return {};
}

// The signature gpg checked as it decrypted (RFC 3156 §6.2), judged against the message.
std::optional<VerifyResult> one_pass_signature(std::vector<SignatureInfo> signers,
                                               mime::Message& message) {
    if (signers.empty()) return std::nullopt;
    VerifyResult v;
    v.format = "signed and encrypted in one pass, RFC 3156 §6.2";
    v.from_addresses = message.headers().from_addresses;
    v.signers = std::move(signers);
    judge(v, mime::sender_headers(message.get()));
    return v;
}

// The report of a successful decryption; the signature made in the same pass, if any.
DecryptResult decrypt_report(Context& ctx, const std::string& format, bool mixed,
                             mime::Message& message) {
    DecryptResult r;
    r.format = format;
    r.mixed = mixed;
    if (gpgme_decrypt_result_t result = gpgme_op_decrypt_result(ctx.get()); result != nullptr) {
        if (result->symkey_algo != nullptr) r.cipher = result->symkey_algo;
        for (gpgme_recipient_t rc = result->recipients; rc != nullptr; rc = rc->next) {
            if (rc->keyid != nullptr) r.recipients.push_back(rc->keyid);
        }
    }
    auto signers = collect_signatures(ctx);
    r.signature = one_pass_signature(std::move(signers), message);
    return r;
}
}  // namespace

base::Result<DecryptResult> finish_decryption(Context& ctx, PreparedDecryption& prepared) {
    auto in = gpgme_data_from(prepared.ciphertext);
    // The plaintext stays in memory until gpg has finished and every check passed.
    auto out = gpgme_memory_data();
    KEYFENCE_TRY(decrypt_status(ctx, gpgme_op_decrypt_verify(ctx.get(), in.get(), out.get())));
    DecryptResult r = decrypt_report(ctx, prepared.format, prepared.mixed, prepared.message);
    const std::string plaintext = gpgme_data_bytes(out.get());
    KEYFENCE_TRY_ASSIGN(entity, plaintext_entity(prepared.format, plaintext));
    if (!r.signature) {
        r.signature =
            verify_inner(ctx, plaintext, entity.get(), prepared.message.headers().from_addresses,
                         mime::sender_headers(prepared.message.get()));
    }
    r.message = prepared.message.with_body(entity.get());
    return r;
}

namespace {
// The file's state as CiphertextRange keeps it.
base::Result<CiphertextRange> file_state(int fd, std::uint64_t offset) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return base::system_error(ErrorCode::Io, "could not read the message's file", errno);
    }
    auto ns = [](const struct timespec& t) {
        return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
    };
    return CiphertextRange{fd, offset, static_cast<std::uint64_t>(st.st_size), ns(st.st_mtim),
                           ns(st.st_ctim)};
}

base::Status unchanged(const CiphertextRange& range) {
    KEYFENCE_TRY_ASSIGN(now, file_state(range.fd, range.offset));
    if (now.file_size != range.file_size || now.mtime_ns != range.mtime_ns ||
        now.ctime_ns != range.ctime_ns) {
        return base::Error(ErrorCode::Io,
                           "the message's file changed while it was decrypted: nothing was "
                           "written",
                           "decrypt a file that nothing else writes to");
    }
    return {};
}

// A transfer encoding under which the stored bytes are the content.
bool stored_as_is(GMimeContentEncoding encoding) {
    return encoding == GMIME_CONTENT_ENCODING_DEFAULT || encoding == GMIME_CONTENT_ENCODING_7BIT ||
           encoding == GMIME_CONTENT_ENCODING_8BIT || encoding == GMIME_CONTENT_ENCODING_BINARY;
}

// A payload part whose stored bytes are the armored message as it is (no transfer encoding to
// undo: GMime's decoding would copy them unchanged) and whose stream is a range of the input
// file: its file, offset and length.
std::optional<std::pair<CiphertextRange, std::uint64_t>> in_place(GMimeObject* part) {
    if (!GMIME_IS_PART(part) || !stored_as_is(g_mime_part_get_content_encoding(GMIME_PART(part)))) {
        return std::nullopt;
    }
    GMimeDataWrapper* wrapper = g_mime_part_get_content(GMIME_PART(part));
    if (wrapper == nullptr || !stored_as_is(g_mime_data_wrapper_get_encoding(wrapper))) {
        return std::nullopt;
    }
    GMimeStream* stream = g_mime_data_wrapper_get_stream(wrapper);
    if (stream == nullptr || !GMIME_IS_STREAM_FS(stream) || stream->bound_start < 0 ||
        stream->bound_end < stream->bound_start) {
        return std::nullopt;
    }
    auto range =
        file_state(GMIME_STREAM_FS(stream)->fd, static_cast<std::uint64_t>(stream->bound_start));
    if (!range) return std::nullopt;
    range->stream = mime::add_ref(stream);
    return std::make_pair(*range,
                          static_cast<std::uint64_t>(stream->bound_end - stream->bound_start));
}

// Reads `length` bytes of the range in 1 MiB blocks (from the page cache, as a rule: the parse
// has just read them) into `take`.
base::Status read_range(const CiphertextRange& range, std::uint64_t length,
                        const std::function<void(std::string_view)>& take) {
    std::string block(1 << 20, '\0');
    for (std::uint64_t done = 0; done < length;) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(length - done, block.size()));
        const ssize_t n =
            ::pread(range.fd, block.data(), want, static_cast<off_t>(range.offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return base::system_error(ErrorCode::Io, "could not read the message", errno);
        take(std::string_view(block.data(), static_cast<std::size_t>(n)));
        done += static_cast<std::uint64_t>(n);
    }
    return {};
}
}  // namespace

base::Result<PreparedFileDecryption> prepare_file_decryption(const std::string& path,
                                                             const std::string& homedir,
                                                             const smime::ProgressFn& progress) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    bool mixed = false;
    KEYFENCE_TRY_ASSIGN(found, encrypted_content(parsed, mixed));
    std::optional<std::pair<CiphertextRange, std::uint64_t>> range;
    if (found.format == "multipart/encrypted") {
        KEYFENCE_TRY_ASSIGN(part, payload_part(found.entity));
        range = in_place(part);
    }
    std::unique_ptr<HomeTempFile> file;
    if (!range) {
        file = std::make_unique<HomeTempFile>(homedir);
        if (!file->ok()) {
            return base::Error(ErrorCode::Io, "could not create a temporary file in " + homedir);
        }
    }
    smime::Hasher sha256(EVP_sha256());
    std::string lead;     // the first bytes, where the armor begins
    ArmorScanner bounds;  // docs/limits.md, as the ciphertext passes: constant memory
    std::uint64_t taken = 0;
    smime::BufferedWriter writer([&](std::string_view block) {
        return file->write(block) ? base::Status()
                                  : base::Error(ErrorCode::Io, "could not write in " + homedir);
    });
    auto take = [&](std::string_view bytes) {
        sha256.update(bytes);
        (void)bounds.feed(bytes);  // the first error is kept and returned by finish()
        if (lead.size() < 4096) lead.append(bytes.substr(0, 4096 - lead.size()));
        taken += bytes.size();
        if (progress) progress(taken, 0);
        return file ? writer.write(bytes) : true;
    };
    if (range) {
        // Hashed and scanned where it is; gpg reads the same range later (finish_file_decryption
        // checks that the file did not change in between). The bounds scan reads the range on a
        // thread of its own while this one hashes it (from the page cache: the parse has just
        // read it), so the two passes cost the longer of them, not their sum.
        base::Status scanned;
        {
            std::jthread scan([&] {
                scanned = read_range(range->first, range->second,
                                     [&](std::string_view bytes) { (void)bounds.feed(bytes); });
            });
            auto hashed = read_range(range->first, range->second, [&](std::string_view bytes) {
                sha256.update(bytes);
                if (lead.size() < 4096) lead.append(bytes.substr(0, 4096 - lead.size()));
                taken += bytes.size();
                if (progress) progress(taken, 0);
            });
            scan.join();
            KEYFENCE_TRY(hashed);
        }
        KEYFENCE_TRY(scanned);
        KEYFENCE_TRY(unchanged(range->first));
    } else if (found.format == "multipart/encrypted") {
        KEYFENCE_TRY_ASSIGN(part, payload_part(found.entity));
        GMimeDataWrapper* wrapper =
            GMIME_IS_PART(part) ? g_mime_part_get_content(GMIME_PART(part)) : nullptr;
        auto sink = mime::sink_stream(take);
        if (wrapper == nullptr || g_mime_data_wrapper_write_to_stream(wrapper, sink.get()) < 0) {
            KEYFENCE_TRY(writer.status());
            return base::Error(ErrorCode::BadInput, "the encrypted part cannot be decoded");
        }
    } else {
        take(found.ciphertext);
    }
    if (file) KEYFENCE_TRY(writer.flush());
    if (lead.find(k_begin) == std::string::npos) {
        return base::Error(ErrorCode::BadInput, "the encrypted part holds no OpenPGP message");
    }
    KEYFENCE_TRY(bounds.finish());
    PreparedFileDecryption prepared{std::move(parsed),       std::move(file), std::nullopt,  taken,
                                    std::move(found.format), mixed,           sha256.final()};
    if (range) prepared.range = range->first;
    return prepared;
}

base::Result<std::vector<std::string>> prepared_recipients(const std::string& homedir,
                                                           const PreparedFileDecryption& prepared) {
    if (prepared.range) {
        return message_recipients_range(homedir, prepared.range->fd, prepared.range->offset,
                                        prepared.ciphertext_size);
    }
    return message_recipients_file(homedir, prepared.ciphertext->path());
}

namespace {
// The plaintext kept whole in `path` (a signed entity inside, inline PGP, an unusual entity):
// parsed file-backed, checked, and written with the outer headers (docs/pgp.md).
base::Result<DecryptResult> finish_from_spool(Context& ctx, PreparedFileDecryption& prepared,
                                              const std::string& path, DecryptResult r,
                                              const OutputFn& out) {
    auto read_plaintext = [&]() -> base::Result<std::string> {
        std::string bytes;
        KEYFENCE_TRY(
            smime::read_chunks(path, [&](std::string_view chunk) { bytes.append(chunk); }));
        return bytes;
    };
    mime::GPtr<GMimeObject> entity;
    if (prepared.format == "multipart/encrypted") {
        KEYFENCE_TRY_ASSIGN(parsed, mime::parse_entity_file(path));
        entity = std::move(parsed);
    } else {
        KEYFENCE_TRY_ASSIGN(text, read_plaintext());
        KEYFENCE_TRY_ASSIGN(made, plaintext_entity(prepared.format, text));
        entity = std::move(made);
    }
    if (!r.signature && mime::mime_type(entity.get()) == "multipart/signed") {
        // verify_inner() takes the plaintext in memory: a signed-then-encrypted message is held
        // once (docs/pgp.md, "Large messages").
        KEYFENCE_TRY_ASSIGN(text, read_plaintext());
        r.signature =
            verify_inner(ctx, text, entity.get(), prepared.message.headers().from_addresses,
                         mime::sender_headers(prepared.message.get()));
    }
    smime::BufferedWriter writer(out);
    auto sink = mime::sink_stream([&](std::string_view bytes) { return writer.write(bytes); });
    if (!prepared.message.write_with_body(entity.get(), sink.get())) {
        KEYFENCE_TRY(writer.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the decrypted message");
    }
    KEYFENCE_TRY(writer.flush());
    return r;
}

// gpg's verdict from its status lines (mail/pgp/decrypt_status.hpp), mapped as
// decrypt_status() maps GPGME's: EFAIL first, then every failure to one error.
base::Status status_verdict(Context& ctx, const DecryptStatus& status) {
    if (status.no_integrity || (status.okay && !status.integrity)) {
        return no_integrity_error();
    }
    const gpgme_error_t err = decrypt_error(status);
    return err != 0 ? decrypt_failure(ctx, err) : base::Status();
}

DecryptResult status_report(Context& ctx, const DecryptStatus& status, const std::string& format,
                            bool mixed, mime::Message& message) {
    DecryptResult r;
    r.format = format;
    r.mixed = mixed;
    r.cipher = status.cipher.empty() ? "?.?" : status.cipher;
    r.recipients = status.recipients;
    std::vector<SignatureInfo> signers;
    for (const auto& sig : status.signatures) signers.push_back(describe_signature(ctx, sig));
    r.signature = one_pass_signature(std::move(signers), message);
    return r;
}

// What GMime writes of the message before the decrypted entity's first header field: the outer
// headers (mime::Message::write_with_body). Found by writing the message around a one-field
// entity whose field cannot occur in the message.
base::Result<std::string> outer_prefix(mime::Message& message) {
    unsigned char nonce[16];
    if (RAND_bytes(nonce, sizeof nonce) != 1) {
        return base::Error(ErrorCode::Internal, "no random bytes for a marker");
    }
    const std::string field = "X-Keyfence-Entity: " + base::to_hex(nonce);
    KEYFENCE_TRY_ASSIGN(marker, mime::parse_entity(field + "\r\n\r\n"));
    const std::string whole = message.with_body(marker.get());
    const std::size_t at = whole.find(field);
    if (at == std::string::npos || whole.find(field, at + 1) != std::string::npos) {
        return base::Error(ErrorCode::Internal, "GMime did not write the message around a marker");
    }
    return whole.substr(0, at);
}

// Whether the decrypted entity whose header block is `head` may go straight to the output:
// not a signed entity (verified on the parsing path), and a header block GMime reads as one.
bool streamable(std::string_view head) {
    const char first = head.empty() ? '\n' : head.front();
    if (first == '\r' || first == '\n' || first == ' ' || first == '\t') return false;
    auto entity = mime::parse_entity(head);
    return entity && mime::mime_type(entity->get()) != "multipart/signed";
}
}  // namespace

base::Result<DecryptResult> finish_file_decryption(Context& ctx, PreparedFileDecryption& prepared,
                                                   const OutputFn& out,
                                                   const smime::ProgressFn& progress) {
    const bool pgp_mime = prepared.format == "multipart/encrypted";
    base::Status decided;
    PlaintextStream plain(out, [&](std::string_view head) -> std::optional<std::string> {
        if (!pgp_mime || !streamable(head)) return std::nullopt;
        auto prefix = outer_prefix(prepared.message);
        if (!prefix) {
            decided = std::move(prefix).error();
            return std::nullopt;
        }
        return std::move(*prefix);
    });
    // gpg reads the ciphertext file as its standard input and its plaintext streams on as it
    // comes (mail/pgp/gpg_process.hpp): no copy through GPGME, no plaintext file, no second
    // parse. `out` shows nothing until the caller commits it, which it does only on success.
    GpgRun run;
    run.arguments = {"--output", "-", "--decrypt", "-"};
    run.stdin_fd = prepared.range ? k_gpg_stdin_pipe : prepared.ciphertext->fd();
    run.total = prepared.ciphertext_size;
    run.progress = progress;
    run.output = [&](std::string_view bytes) { return plain.write(bytes); };
    KEYFENCE_TRY_ASSIGN(gpg, GpgProcess::start(ctx, std::move(run)));
    if (prepared.range) {
        // Exactly the part's bytes (mail/pgp/range_feed.hpp). A gpg that stopped reading early
        // (it failed) is judged by its status lines below; a file that cannot be read is not.
        KEYFENCE_TRY(feed_file_range(gpg, prepared.range->fd, prepared.range->offset,
                                     prepared.ciphertext_size));
    }
    KEYFENCE_TRY_ASSIGN(result, gpg.finish());
    if (prepared.range) KEYFENCE_TRY(unchanged(*prepared.range));
    KEYFENCE_TRY(decided);
    if (result.output_failed) {
        // gpg was stopped because its plaintext could not go on (the output failed, or a line
        // over the limit): that is the error, not the verdict of a gpg cut short.
        KEYFENCE_TRY(plain.status());
        return base::Error(ErrorCode::Io, "could not write the decrypted message");
    }
    // The verdict is the status lines', as GPGME's was, not gpg's exit code: gpg exits 2 for a
    // signature it could not check, which is reported, not a failed decryption.
    const DecryptStatus status = parse_decrypt_status(result.status);
    KEYFENCE_TRY(status_verdict(ctx, status));
    KEYFENCE_TRY(plain.finish());
    DecryptResult r = status_report(ctx, status, prepared.format, prepared.mixed, prepared.message);
    if (plain.streamed()) return r;
    return finish_from_spool(ctx, prepared, plain.spool()->path(), std::move(r), out);
}

}  // namespace keyfence::mail::pgp
