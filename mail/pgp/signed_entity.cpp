#include "mail/pgp/signed_entity.hpp"

#include <optional>

#include "mail/mime/raw_entity.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/pgp/packet_bounds.hpp"

namespace keyfence::mail::pgp {
namespace {
constexpr std::string_view k_begin = "-----BEGIN PGP SIGNED MESSAGE-----";
constexpr std::string_view k_end = "-----END PGP SIGNATURE-----";

bool blank(std::string_view text) {
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The first line-initial k_begin in `text`, or npos.
std::size_t block_start(std::string_view text, std::size_t from = 0) {
    for (auto at = text.find(k_begin, from); at != std::string_view::npos;
         at = text.find(k_begin, at + 1)) {
        if (at == 0 || text[at - 1] == '\n') return at;
    }
    return std::string_view::npos;
}

// RFC 4880 §7: a cleartext-signed text part. Inline signing is verified with the same
// strictness as PGP/MIME: the block must be the whole part, or the rest is unsigned.
void prepare_inline(GMimeObject* object, SignedInput& in) {
    auto text = mime::decoded_content(object);
    if (!text) {
        in.problem = "the part cannot be decoded: " + text.error().context;
        return;
    }
    const auto begin = block_start(*text);
    const auto end = begin == std::string::npos ? begin : text->find(k_end, begin);
    if (end == std::string::npos) {
        in.problem = "the inline signed block has no end (\"-----END PGP SIGNATURE-----\")";
        return;
    }
    in.inline_block = true;
    in.signature = text->substr(begin, end + k_end.size() - begin) + "\n";
    if (mime::mime_type(object) != "text/plain") {
        in.outside = "the signed block is inside " + mime::mime_type(object) +
                     ", whose markup decides what a reader sees around it";
    } else if (block_start(*text, begin + 1) != std::string::npos) {
        in.outside = "the part holds several signed blocks, each signed on its own";
    } else if (!blank(std::string_view(*text).substr(0, begin)) ||
               !blank(std::string_view(*text).substr(end + k_end.size()))) {
        in.outside =
            "the text before or after the signed block is not signed and could have been "
            "written by anyone";
    }
}

// A signature part is a few KiB; it is decoded into memory, so its size is bounded before
// (docs/limits.md), also when the message streams from a file.
base::Status check_signature_size(GMimeObject* signature) {
    GMimeDataWrapper* wrapper =
        GMIME_IS_PART(signature) ? g_mime_part_get_content(GMIME_PART(signature)) : nullptr;
    GMimeStream* stream = wrapper != nullptr ? g_mime_data_wrapper_get_stream(wrapper) : nullptr;
    const gint64 length = stream != nullptr ? g_mime_stream_length(stream) : -1;
    if (length > static_cast<gint64>(k_pgp_limits.max_signature_part)) {
        return base::Error(base::ErrorCode::BadInput,
                           "the message exceeds Keyfence's limit on the size of a signature part "
                           "(" +
                               std::to_string(length) + " bytes, at most " +
                               std::to_string(k_pgp_limits.max_signature_part) + ")",
                           "see docs/limits.md; such a message is refused rather than processed");
    }
    return {};
}

// RFC 3156 §5 (RFC 1847): exactly two parts, the second application/pgp-signature. Without
// `raw`, the content is left to be streamed from the message's file.
base::Status prepare_multipart(GMimeObject* object, std::optional<std::string_view> raw,
                               SignedInput& in) {
    auto* multipart = GMIME_MULTIPART(object);
    if (g_mime_multipart_get_count(multipart) != 2) {
        in.problem = "a multipart/signed body must have exactly two parts (RFC 1847)";
        return {};
    }
    GMimeObject* signature = g_mime_multipart_get_part(multipart, 1);
    if (mime::mime_type(signature) != "application/pgp-signature") {
        in.problem =
            "the second part of a PGP/MIME signed body must be application/pgp-signature "
            "(RFC 3156 §5)";
        return {};
    }
    KEYFENCE_TRY(check_signature_size(signature));
    const char* boundary = g_mime_multipart_get_boundary(multipart);
    if (boundary == nullptr) {
        in.problem = "the multipart has no boundary";
        return {};
    }
    auto content = raw ? mime::first_body_part(*raw, boundary) : base::Result<std::string>("");
    auto sig = mime::decoded_content(signature);
    if (!content || !sig) {
        in.problem = !content ? content.error().context : sig.error().context;
        return {};
    }
    in.content = std::move(*content);
    in.signature = std::move(*sig);
    in.streamed = !raw;
    in.boundary = boundary;
    if (const char* micalg =
            g_mime_object_get_content_type_parameter(GMIME_OBJECT(multipart), "micalg")) {
        in.micalg = micalg;
    }
    return {};
}

base::Result<SignedInput> prepare(const mime::SignedEntity& entity,
                                  std::optional<std::string_view> raw) {
    SignedInput in{entity, false, {}, {}, {}, {}, false, {}};
    switch (entity.kind) {
        case mime::SignedKind::PgpMime:
            KEYFENCE_TRY(prepare_multipart(entity.object, raw, in));
            break;
        case mime::SignedKind::PgpInline:
            prepare_inline(entity.object, in);
            break;
        case mime::SignedKind::SmimeDetached:
        case mime::SignedKind::SmimeOpaque:
            in.problem = "signed with S/MIME, not OpenPGP ('keyfence smime verify' checks it)";
            break;
        case mime::SignedKind::OrphanSignature:
            in.problem =
                "a signature on its own, outside a multipart/signed: it signs nothing here";
            break;
    }
    // docs/limits.md: the OpenPGP data's outer structure is bounded before gpg reads it.
    if (!in.signature.empty()) KEYFENCE_TRY(check_armored_bounds(in.signature));
    return in;
}
}  // namespace

namespace {
// `raw`: the message as received, or none when it streams from a file.
base::Result<PreparedVerification> prepare_all(mime::Message message,
                                               std::optional<std::string_view> raw) {
    PreparedVerification p{std::move(message), {}, {}, {}};
    p.sender = mime::sender_headers(p.message.get());
    p.coverage = mime::analyse_coverage(p.message.body());
    for (const auto& e : p.coverage.signed_entities) {
        // Below the body, GMime's serialisation: such a part is only reported, never the verdict.
        if (!e.path.empty()) {
            const std::string reserialised = mime::canonical_bytes(e.object);
            KEYFENCE_TRY_ASSIGN(in, prepare(e, std::string_view(reserialised)));
            p.inputs.push_back(std::move(in));
            continue;
        }
        KEYFENCE_TRY_ASSIGN(in, prepare(e, raw));
        p.inputs.push_back(std::move(in));
    }
    return p;
}
}  // namespace

base::Result<PreparedVerification> prepare_verification(std::string_view message) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    return prepare_all(std::move(parsed), message);
}

base::Result<PreparedVerification> prepare_file_verification(mime::Message message) {
    return prepare_all(std::move(message), std::nullopt);
}

}  // namespace keyfence::mail::pgp
