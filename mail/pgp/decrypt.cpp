#include "mail/pgp/decrypt.hpp"

#include "mail/mime/raw_entity.hpp"
#include "mail/pgp/decryption_parts.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/pgp/packet_bounds.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/stream_data.hpp"

namespace keyfence::mail::pgp {
using base::ErrorCode;

namespace {

constexpr std::string_view k_end = "-----END PGP MESSAGE-----";

bool is_pgp_encrypted(GMimeObject* object) {
    return mime::mime_type(object) == "multipart/encrypted" &&
           lower_param(object, "protocol") == "application/pgp-encrypted";
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
    const auto begin = text->find(k_pgp_message_begin);
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
void find_encrypted(GMimeObject* object, std::optional<EncryptedEntity>& found, bool& mixed) {
    if (is_pgp_encrypted(object)) {
        if (found) {
            mixed = true;
            return;
        }
        found = EncryptedEntity{object, {}, "multipart/encrypted"};
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
        found = EncryptedEntity{object, std::move(block->first), "inline"};
        if (block->second) mixed = true;
        return;
    }
    // Any other leaf beside the encrypted entity is unprotected content.
    mixed = true;
}
}  // namespace

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

// The encrypted entity of a message; `mixed` tells whether anything else is beside it.
base::Result<EncryptedEntity> encrypted_content(mime::Message& message, bool& mixed) {
    std::optional<EncryptedEntity> found;
    find_encrypted(message.body(), found, mixed);
    if (!found) {
        return base::Error(ErrorCode::BadInput, "the message holds no OpenPGP encrypted content",
                           "give a PGP/MIME (multipart/encrypted) or inline PGP message");
    }
    return std::move(*found);
}

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

base::Result<PreparedDecryption> prepare_decryption(std::string_view message) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    bool mixed = false;
    KEYFENCE_TRY_ASSIGN(found, encrypted_content(parsed, mixed));
    if (found.format == "multipart/encrypted") {
        KEYFENCE_TRY_ASSIGN(payload, encrypted_payload(found.entity));
        found.ciphertext = std::move(payload);
    }
    if (found.ciphertext.find(k_pgp_message_begin) == std::string::npos) {
        return base::Error(ErrorCode::BadInput, "the encrypted part holds no OpenPGP message");
    }
    KEYFENCE_TRY(check_armored_bounds(found.ciphertext));  // docs/limits.md, before gpg
    auto sha256 = sha256_of(found.ciphertext);
    return PreparedDecryption{std::move(parsed), std::move(found.ciphertext),
                              std::move(found.format), mixed, std::move(sha256)};
}
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

namespace {
base::Status decrypt_status(Context& ctx, gpgme_error_t err) {
    gpgme_decrypt_result_t result = gpgme_op_decrypt_result(ctx.get());
    if (result != nullptr && result->legacy_cipher_nomdc) return no_integrity_error();
    if (err != 0) return decrypt_failure(ctx, err);
    return {};
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

}  // namespace keyfence::mail::pgp
