// The decryption of a message in a file (decrypt.hpp, prepare_file_decryption and
// finish_file_decryption): the ciphertext read in place or decoded to a private file, gpg run
// by Keyfence, the plaintext streamed to the output (docs/pgp.md, "Large messages").

#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "base/fd.hpp"
#include "base/hex.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/pgp/decrypt.hpp"
#include "mail/pgp/decrypt_status.hpp"
#include "mail/pgp/decryption_parts.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/gpg_process.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/pgp/packet_bounds.hpp"
#include "mail/pgp/plaintext_stream.hpp"
#include "mail/pgp/range_feed.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/stream_data.hpp"

namespace keyfence::mail::pgp {
using base::ErrorCode;
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
    auto read = base::read_range(range.fd, range.offset, length, [&](std::string_view bytes) {
        take(bytes);
        return true;
    });
    if (!read) return std::move(read).error();
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
    if (lead.find(k_pgp_message_begin) == std::string::npos) {
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
