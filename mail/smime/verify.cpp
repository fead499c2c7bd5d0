#include "mail/smime/verify.hpp"

#include <optional>

#include "mail/mime/coverage.hpp"
#include "mail/mime/message.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/smime/signed_data.hpp"
#include "mail/smime/stream_der.hpp"
#include "mail/smime/stream_first_part.hpp"
#include "mail/smime/stream_hash.hpp"
#include "mail/smime/stream_io.hpp"
#include "mail/smime/stream_opaque.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

struct SignedParts {
    std::string format;
    std::string content;  ///< detached: the first part's bytes; opaque: filled from the CMS
    std::string der;
    bool detached = false;
    base::BioPtr stream;  ///< detached, from a file: the first part, streamed (content empty)
    /// Opaque, read in one pass: the content's digests (stream_opaque.hpp), and the structure
    /// they came from; or why the structure broke after its content.
    base::BioPtr digests;
    CmsPtr head;
    std::string unreadable;
};

// A message in a file: the detached content is read from it as the digests need it, and handed
// on to `tee` as it passes (verify --out's temporary file).
struct FileSource {
    std::string path;
    ContentSink tee;
};

bool is_pkcs7_mime(const std::string& type) {
    return type == "application/pkcs7-mime" || type == "application/x-pkcs7-mime";
}

// Opaque signed-data in a file, in constant memory: the base64 part is decoded to a temporary
// file, the SignedData walked by the incremental BER reader (stream_der.hpp), and checked as the
// same signature detached, its eContent streaming from the file into the digests and on to
// `file.tee`. nullopt when the structure is not one the reader takes (no eContent, not BER):
// the caller then reads it whole, as OpenSSL parses CMS, and reports what is wrong with it.
base::Result<std::optional<SignedParts>> opaque_from_file(GMimeObject* entity,
                                                          const FileSource& file) {
    GMimeDataWrapper* wrapper =
        GMIME_IS_PART(entity) ? g_mime_part_get_content(GMIME_PART(entity)) : nullptr;
    if (wrapper == nullptr) return std::optional<SignedParts>();
    // In one pass when the part is base64 and the structure one the streaming reader takes.
    KEYFENCE_TRY_ASSIGN(streamed, stream_opaque_signed_data(wrapper, file.tee));
    if (streamed) {
        SignedParts parts{
            "application/pkcs7-mime signed-data", {}, std::move(streamed->der), false, {}};
        parts.digests = std::move(streamed->digests);
        parts.head = std::move(streamed->head);
        parts.unreadable = std::move(streamed->unreadable);
        return std::optional<SignedParts>(std::move(parts));
    }
    KEYFENCE_TRY_ASSIGN(der, TempFile::create());
    BufferedWriter writer([&der](std::string_view block) { return write_fd(der.fd(), block); });
    auto sink =
        mime::sink_stream([&writer](std::string_view bytes) { return writer.write(bytes); });
    if (g_mime_data_wrapper_write_to_stream(wrapper, sink.get()) < 0) {
        KEYFENCE_TRY(writer.status());
        return std::optional<SignedParts>();
    }
    KEYFENCE_TRY(writer.flush());
    auto skeleton = read_signed_skeleton(der.path());
    if (!skeleton || !skeleton->has_content) return std::optional<SignedParts>();
    // The BIO opens the file again: it outlives `der`, which only unlinked it.
    KEYFENCE_TRY_ASSIGN(content, content_bio(der.path(), skeleton->content_offset, file.tee));
    return std::optional<SignedParts>(SignedParts{"application/pkcs7-mime signed-data",
                                                  {},
                                                  std::move(skeleton->der),
                                                  false,
                                                  std::move(content)});
}

// The signed content and the CMS bytes of an S/MIME signed entity; nullopt when the entity is
// not S/MIME signed. `raw` holds the entity exactly as received, or `file` the message whose
// body the entity is.
base::Result<std::optional<SignedParts>> signed_parts(GMimeObject* entity, std::string_view raw,
                                                      const FileSource* file = nullptr) {
    const std::string type = mime::mime_type(entity);
    if (type == "multipart/signed") {
        const std::string protocol = mime::content_type_parameter(entity, "protocol");
        if (!mime::is_smime_signature_protocol(protocol)) {
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
        const std::string smime_type = mime::content_type_parameter(entity, "smime-type");
        if (!smime_type.empty() && smime_type != "signed-data") return std::optional<SignedParts>();
        if (file != nullptr) {
            KEYFENCE_TRY_ASSIGN(streamed, opaque_from_file(entity, *file));
            if (streamed) return streamed;
        }
        KEYFENCE_TRY_ASSIGN(der, mime::decoded_content(entity));
        return std::optional<SignedParts>(
            SignedParts{"application/pkcs7-mime signed-data", {}, std::move(der), false, {}});
    }
    return std::optional<SignedParts>();
}

std::vector<mime::SignerIdentity> identities(const std::vector<SignerResult>& signers) {
    std::vector<mime::SignerIdentity> out;
    for (const auto& s : signers) out.push_back({s.certificate.emails, s.names});
    return out;
}

std::string signer_list(const std::vector<SignerResult>& signers) {
    std::string s;
    for (const auto& signer : signers) {
        const auto& emails = signer.certificate.emails;
        s += (s.empty() ? "" : ", ") +
             mime::quote(emails.empty() ? signer.certificate.subject : emails.front());
    }
    return s;
}

// Reads `source` to its end (or its failure, which the digests then show), writing what it
// yields through `digests` on a second thread.
base::Status hash_in_background(BIO* source, BIO* digests) {
    BackgroundHasher hasher({}, [digests](std::string_view bytes) {
        const int n = static_cast<int>(bytes.size());
        return BIO_write(digests, bytes.data(), n) == n;
    });
    std::vector<char> block(1 << 20);
    for (;;) {
        const int n = BIO_read(source, block.data(), static_cast<int>(block.size()));
        if (n <= 0) break;
        hasher.update(std::string_view(block.data(), static_cast<std::size_t>(n)));
    }
    hasher.final();
    if (hasher.sink_failed()) {
        return base::Error(ErrorCode::Internal, "could not hash the signed content");
    }
    return {};
}

// Checks one signed entity. `raw` holds it as received (the body) or as GMime writes it (a
// part below the body, only ever reported, never verified as the message).
base::Result<SignedPartResult> check_part(const mime::SignedEntity& entity, std::string_view raw,
                                          const FileSource* file, const VerifyOptions& options,
                                          VerifyResult& whole) {
    SignedPartResult part{entity.path, entity.type, entity.context, {}, {}};
    if (entity.kind == mime::SignedKind::PgpMime || entity.kind == mime::SignedKind::PgpInline) {
        part.problem = "signed with OpenPGP, not S/MIME";
        return part;
    }
    if (entity.kind == mime::SignedKind::OrphanSignature) {
        part.problem = "a signature on its own, outside a multipart/signed: it signs nothing here";
        return part;
    }
    auto parts = signed_parts(entity.object, raw, file);
    if (!parts || !*parts) {
        part.problem = parts ? "not S/MIME signed" : parts.error().context;
        return part;
    }
    SignedDataCheck checked;
    if (!(*parts)->unreadable.empty()) {
        checked.problem_code = "signature_unreadable";
        checked.problem = "the signature is not a readable CMS structure: " + (*parts)->unreadable;
    } else if ((*parts)->digests) {
        KEYFENCE_TRY_ASSIGN(
            digested, check_signed_data_digested((*parts)->der, (*parts)->digests.get(), options));
        checked = std::move(digested);
    } else if (auto digests = (*parts)->stream ? detached_digests((*parts)->der) : nullptr) {
        // The first part is cut from the file here and hashed on a second thread.
        KEYFENCE_TRY(hash_in_background((*parts)->stream.get(), digests.get()));
        KEYFENCE_TRY_ASSIGN(digested,
                            check_signed_data_digested((*parts)->der, digests.get(), options));
        checked = std::move(digested);
    } else if ((*parts)->stream) {
        KEYFENCE_TRY_ASSIGN(
            streamed, check_signed_data_streamed((*parts)->der, (*parts)->stream.get(), options));
        checked = std::move(streamed);
    } else {
        std::optional<std::string> detached;
        if ((*parts)->detached) detached = std::move((*parts)->content);
        KEYFENCE_TRY_ASSIGN(in_memory, check_signed_data((*parts)->der, detached, options));
        checked = std::move(in_memory);
    }
    part.signers = std::move(checked.signers);
    part.problem = checked.problem;
    if (entity.path.empty()) {
        whole.format = (*parts)->format;
        whole.content = std::move(checked.content);
        whole.failure_code = checked.problem_code;
        whole.failure = checked.problem;
    }
    return part;
}

std::string describe_part(const SignedPartResult& p) {
    std::string s = mime::describe_path(p.path) + " (" + p.type;
    if (!p.context.empty()) s += ", " + p.context;
    s += ")";
    if (!p.signers.empty()) s += " is signed by " + signer_list(p.signers);
    return s;
}

void fail(VerifyResult& r, std::string code, std::string why) {
    r.failure_code = std::move(code);
    r.failure = std::move(why);
}

// The message verifies only when nothing below says otherwise, in this order.
void judge(VerifyResult& r, const mime::SenderHeaders& sender) {
    const auto check = mime::check_sender(sender, identities(r.signers));
    r.from_matches = !r.signers.empty() && check.ok();
    if (r.coverage == "none") return fail(r, "not_signed", "the message is not S/MIME signed");
    if (r.coverage == "partial") {
        std::string unsigned_list;
        for (const auto& [path, type] : r.unsigned_parts) {
            unsigned_list +=
                (unsigned_list.empty() ? "" : ", ") + mime::describe_path(path) + " (" + type + ")";
        }
        std::string signed_list;
        for (const auto& p : r.signed_parts) {
            signed_list += (signed_list.empty() ? "" : "; ") + describe_part(p);
        }
        return fail(r, "partially_signed",
                    "only a part of this message is signed, not the message as a whole: " +
                        signed_list + "; " +
                        (unsigned_list.empty() ? std::string("the rest")
                                               : "the unsigned " + unsigned_list) +
                        " could have been written by anyone");
    }
    if (!r.failure.empty()) return;  // the signature's own structure (signed_data.hpp)
    if (r.signers.empty()) return fail(r, "not_signed", r.signed_parts.front().problem);
    for (std::size_t i = 0; i < r.signers.size(); ++i) {
        const auto& s = r.signers[i];
        const std::string who =
            "signer " + std::to_string(i + 1) + " of " + std::to_string(r.signers.size());
        if (!s.cert) {
            return fail(r, "signer_certificate_missing",
                        "the certificate of " + who +
                            " is neither in the message nor given with --chain, so its "
                            "signature cannot be checked");
        }
        if (!s.signature_valid) {
            return fail(r, "bad_signature",
                        "the signature of " + who +
                            " does not match the content: the message was changed after it "
                            "was signed, or the signature is broken");
        }
        if (s.expired) {
            return fail(r, "certificate_expired",
                        "the certificate chain of " + who + " had expired at " + r.at + ": " +
                            s.chain_error + " (the signer's certificate is valid " +
                            s.certificate.not_before + " to " + s.certificate.not_after +
                            "); archived mail can be checked as of its arrival with --at");
        }
        if (!s.chain_valid) {
            return fail(r, "untrusted_certificate",
                        "the certificate of " + who + " is not trusted: " + s.chain_error);
        }
    }
    if (!check.ok()) fail(r, check.code, check.reason);
}

// `file`, when given, holds the message whose body `entity` is; the body's signed content then
// streams from it.
base::Result<VerifyResult> verify_object(GMimeObject* entity, std::string_view raw,
                                         const mime::SenderHeaders& sender,
                                         const VerifyOptions& options,
                                         const FileSource* file = nullptr) {
    VerifyResult r;
    r.from_text = sender.from_text;
    r.sender_text = sender.sender_text;
    for (const auto& m : sender.from) {
        if (!m.address.empty()) r.from_addresses.push_back(m.address);
    }
    r.at = verification_time(options.at);
    const mime::Coverage coverage = mime::analyse_coverage(entity);
    for (const auto& u : coverage.unsigned_parts) r.unsigned_parts.emplace_back(u.path, u.type);
    // A signed entity below the body is cut from GMime's serialisation of it, not from the
    // bytes received: it is only ever reported (which part, whom), never the verdict.
    for (const auto& e : coverage.signed_entities) {
        const std::string reserialised =
            e.path.empty() ? std::string() : mime::canonical_bytes(e.object);
        KEYFENCE_TRY_ASSIGN(part, check_part(e, e.path.empty() ? raw : reserialised,
                                             e.path.empty() ? file : nullptr, options, r));
        r.signed_parts.push_back(std::move(part));
    }
    if (coverage.whole_body_signed()) {
        r.coverage = "whole";
        r.signers = std::move(r.signed_parts.front().signers);
        r.signed_parts.front().signers.clear();  // reported once, as the message's signers
    } else if (!coverage.signed_entities.empty()) {
        r.coverage = "partial";
    }
    judge(r, sender);
    if (!r.verified()) r.content.clear();  // --out writes only content that verified
    return r;
}
}  // namespace

base::Result<VerifyResult> verify_message(std::string_view message, const VerifyOptions& options) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    return verify_object(parsed.body(), message, mime::sender_headers(parsed.get()), options);
}

base::Result<VerifyResult> verify_message_file(const std::string& path,
                                               const VerifyOptions& options, ContentSink content) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    const FileSource file{path, content};
    KEYFENCE_TRY_ASSIGN(result, verify_object(parsed.body(), {}, mime::sender_headers(parsed.get()),
                                              options, &file));
    // Content checked in memory (opaque signed-data the streaming reader did not take).
    if (content && !result.content.empty()) content(result.content);
    return result;
}

base::Result<VerifyResult> verify_entity_file(GMimeObject* entity, const std::string& path,
                                              const mime::SenderHeaders& sender,
                                              const VerifyOptions& options) {
    const FileSource file{path, {}};
    return verify_object(entity, {}, sender, options, &file);
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
    // Only the addresses of the outer message are known here: one From: field holding them.
    mime::SenderHeaders sender;
    sender.from_fields = 1;
    for (const auto& a : from_addresses) {
        sender.from.push_back({"", a});
        sender.from_text += (sender.from_text.empty() ? "" : ", ") + a;
    }
    return verify_entity(entity, sender, options);
}

base::Result<VerifyResult> verify_entity(std::string_view entity, const mime::SenderHeaders& sender,
                                         const VerifyOptions& options) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::parse_entity(entity));
    return verify_object(parsed.get(), entity, sender, options);
}

}  // namespace keyfence::mail::smime
