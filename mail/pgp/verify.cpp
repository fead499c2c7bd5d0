#include "mail/pgp/verify.hpp"

#include <algorithm>
#include <ctime>

#include "mail/mime/message.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/keys.hpp"
#include "mail/pgp/mime_parts.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

std::string validity_name(gpgme_validity_t v) {
    switch (v) {
        case GPGME_VALIDITY_NEVER:
            return "never";
        case GPGME_VALIDITY_MARGINAL:
            return "marginal";
        case GPGME_VALIDITY_FULL:
            return "full";
        case GPGME_VALIDITY_ULTIMATE:
            return "ultimate";
        case GPGME_VALIDITY_UNDEFINED:
            return "undefined";
        case GPGME_VALIDITY_UNKNOWN:
        default:
            return "unknown";
    }
}

std::string utc_time(unsigned long seconds) {
    if (seconds == 0) return {};
    const std::time_t t = static_cast<std::time_t>(seconds);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

enum class InlineBlock { None, Whole, Partial };

bool blank(std::string_view text) {
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Whether `text` is one cleartext-signed block with nothing but white space around it.
InlineBlock whole_cleartext_block(std::string_view text) {
    static constexpr std::string_view k_begin = "-----BEGIN PGP SIGNED MESSAGE-----";
    static constexpr std::string_view k_end = "-----END PGP SIGNATURE-----";
    const auto begin = text.find(k_begin);
    if (begin == std::string_view::npos || (begin != 0 && text[begin - 1] != '\n')) {
        return InlineBlock::None;
    }
    const auto end = text.find(k_end, begin);
    if (end == std::string_view::npos) return InlineBlock::Partial;
    const bool only_block = blank(text.substr(0, begin)) && blank(text.substr(end + k_end.size()));
    // A second block would be a second, separately signed text.
    const bool one_block = text.find(k_begin, begin + 1) == std::string_view::npos;
    return only_block && one_block ? InlineBlock::Whole : InlineBlock::Partial;
}

bool has_signed_part(GMimeObject* entity) {
    if (!GMIME_IS_MULTIPART(entity)) return false;
    auto* multipart = GMIME_MULTIPART(entity);
    for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
        GMimeObject* part = g_mime_multipart_get_part(multipart, i);
        if (mime::mime_type(part) == "multipart/signed" || has_signed_part(part)) return true;
    }
    return false;
}

// The signed bytes and the armored signature of an RFC 3156 multipart/signed body.
struct SignedParts {
    std::string content;
    std::string signature;
};

base::Result<SignedParts> signed_parts(GMimeObject* entity, std::string_view raw) {
    auto* multipart = GMIME_MULTIPART(entity);
    if (g_mime_multipart_get_count(multipart) != 2) {
        return base::Error(ErrorCode::BadInput,
                           "a multipart/signed body must have exactly two parts (RFC 1847)");
    }
    GMimeObject* signature = g_mime_multipart_get_part(multipart, 1);
    if (mime::mime_type(signature) != "application/pgp-signature") {
        return base::Error(ErrorCode::BadInput,
                           "the second part of a PGP/MIME signed body must be "
                           "application/pgp-signature (RFC 3156 §5)");
    }
    const char* boundary = g_mime_multipart_get_boundary(multipart);
    if (boundary == nullptr)
        return base::Error(ErrorCode::BadInput, "the multipart has no boundary");
    SignedParts parts;
    KEYFENCE_TRY_ASSIGN(content, mime::first_body_part(raw, boundary));
    KEYFENCE_TRY_ASSIGN(sig, mime::decoded_content(signature));
    parts.content = std::move(content);
    parts.signature = std::move(sig);
    return parts;
}

void describe_key(Context& ctx, SignatureInfo& info) {
    gpgme_key_t key = nullptr;
    if (info.fingerprint.empty() ||
        gpgme_get_key(ctx.get(), info.fingerprint.c_str(), &key, 0) != 0 || key == nullptr) {
        return;
    }
    GpgmeKeyPtr owned(key);
    info.key_known = true;
    info.key_revoked = key->revoked != 0;
    info.key_expired = key->expired != 0;
    for (gpgme_user_id_t uid = key->uids; uid != nullptr; uid = uid->next) {
        if (!uid->revoked && !uid->invalid && uid->uid != nullptr) info.uids.push_back(uid->uid);
    }
    info.addresses = key_addresses(key);
}
}  // namespace

std::vector<SignatureInfo> collect_signatures(Context& ctx) {
    std::vector<SignatureInfo> out;
    gpgme_verify_result_t result = gpgme_op_verify_result(ctx.get());
    if (result == nullptr) return out;
    for (gpgme_signature_t sig = result->signatures; sig != nullptr; sig = sig->next) {
        SignatureInfo info;
        info.fingerprint = sig->fpr != nullptr ? sig->fpr : "";
        info.status = gpgme_strerror(sig->status);
        info.good = gpg_err_code(sig->status) == GPG_ERR_NO_ERROR ||
                    gpg_err_code(sig->status) == GPG_ERR_KEY_EXPIRED;
        info.validity = validity_name(sig->validity);
        info.created = utc_time(sig->timestamp);
        if (const char* h = gpgme_hash_algo_name(sig->hash_algo)) info.hash = h;
        describe_key(ctx, info);
        // gpg says "key expired" for a good signature by a key that expired since.
        if (gpg_err_code(sig->status) == GPG_ERR_KEY_EXPIRED) info.key_expired = true;
        if (gpg_err_code(sig->status) == GPG_ERR_NO_PUBKEY) info.key_known = false;
        out.push_back(std::move(info));
    }
    return out;
}

void judge(VerifyResult& r) {
    r.from_matches = false;
    if (r.signers.empty()) {
        r.failure = "the message has no signature";
        return;
    }
    for (const auto& s : r.signers) {
        if (!s.key_known) {
            r.failure = "the signer's key " + s.fingerprint +
                        " is not in the keyring; import it with 'keyfence pgp import'";
            return;
        }
        if (!s.good) {
            r.failure =
                "the signature does not match the content: the message was changed after it "
                "was signed, or the signature is broken (" +
                s.status + ")";
            return;
        }
        if (s.key_revoked || s.key_expired) {
            r.failure = "the signer's key " + s.fingerprint + " is " +
                        (s.key_revoked ? "revoked" : "expired");
            return;
        }
    }
    if (r.from_addresses.size() != 1) {
        r.failure = r.from_addresses.empty() ? "the message has no From: address"
                                             : "the message has several From: addresses";
        return;
    }
    const std::string& from = r.from_addresses.front();
    for (const auto& s : r.signers) {
        if (std::find(s.addresses.begin(), s.addresses.end(), from) != s.addresses.end()) {
            r.from_matches = true;
        }
    }
    if (!r.from_matches) {
        std::string signer;
        for (const auto& s : r.signers) {
            for (const auto& a : s.addresses) signer += (signer.empty() ? "" : ", ") + a;
        }
        r.failure = "the From: header (" + from + ") is not one of the signer's addresses (" +
                    (signer.empty() ? std::string("none") : signer) +
                    "): the signature is valid, but not from the sender this message claims";
    }
}

void judge(VerifyResult& r, const mime::SenderHeaders& sender) {
    judge(r);
    if (!r.verified() || r.signers.empty()) return;
    // The shared sender rules: display names, Sender:, several From: fields or mailboxes.
    std::vector<mime::SignerIdentity> identities;
    for (const auto& s : r.signers) {
        mime::SignerIdentity id{s.addresses, {}};
        for (const auto& uid : s.uids) {
            const auto open = uid.find(" <");
            if (open != std::string::npos && open > 0) id.names.push_back(uid.substr(0, open));
        }
        identities.push_back(std::move(id));
    }
    const auto check = mime::check_sender(sender, identities);
    if (!check.ok()) {
        r.from_matches = false;
        r.failure = check.reason;
    }
}

base::Result<SignedBody> parse_signed(std::string_view message) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    SignedBody body;
    body.from_addresses = parsed.headers().from_addresses;
    body.sender = mime::sender_headers(parsed.get());
    GMimeObject* entity = parsed.body();
    if (mime::mime_type(entity) == "text/plain") {
        // Inline cleartext signing (RFC 4880 §7): verified with the same strictness, so the
        // block must be the whole body; text before or after it is unsigned.
        KEYFENCE_TRY_ASSIGN(text, mime::decoded_content(entity));
        const auto block = whole_cleartext_block(text);
        if (block == InlineBlock::Whole) {
            body.inline_signed = true;
            body.signature = std::move(text);
            return body;
        }
        if (block == InlineBlock::Partial) {
            body.unsigned_reason =
                "only a part of this message is signed: the inline signed block has text before "
                "or after it that could have been added by anyone";
            return body;
        }
    }
    if (mime::mime_type(entity) != "multipart/signed" ||
        lower_param(entity, "protocol") != "application/pgp-signature") {
        body.unsigned_reason =
            has_signed_part(entity)
                ? "only a part of this message is signed, not the message as a whole; the rest "
                  "could have been added by anyone"
                : "the message is not PGP/MIME signed";
        return body;
    }
    KEYFENCE_TRY_ASSIGN(parts, signed_parts(entity, message));
    body.content = std::move(parts.content);
    body.signature = std::move(parts.signature);
    return body;
}

base::Result<VerifyResult> verify_message(Context& ctx, std::string_view message) {
    KEYFENCE_TRY_ASSIGN(body, parse_signed(message));
    VerifyResult r;
    r.from_addresses = std::move(body.from_addresses);
    if (!body.unsigned_reason.empty()) {
        r.failure = std::move(body.unsigned_reason);
        return r;
    }
    if (body.inline_signed) {
        // The cleartext block is signature and text at once; gpg hands back the signed text.
        r.format = "inline";
        auto block = gpgme_data_from(body.signature);
        GpgmeDataPtr plain = gpgme_memory_data();
        const gpgme_error_t err = gpgme_op_verify(ctx.get(), block.get(), nullptr, plain.get());
        if (err != 0 && gpg_err_code(err) != GPG_ERR_BAD_SIGNATURE) {
            return gpg_error(err, "the inline signed block cannot be read", ErrorCode::BadInput);
        }
        r.signers = collect_signatures(ctx);
        r.content = gpgme_data_bytes(plain.get());
        judge(r, body.sender);
        if (!r.verified()) r.content.clear();
        return r;
    }
    r.format = "multipart/signed";
    auto sig = gpgme_data_from(body.signature);
    auto text = gpgme_data_from(body.content);
    const gpgme_error_t err = gpgme_op_verify(ctx.get(), sig.get(), text.get(), nullptr);
    if (err != 0 && gpg_err_code(err) != GPG_ERR_BAD_SIGNATURE) {
        return gpg_error(err, "the signature part cannot be read", ErrorCode::BadInput);
    }
    r.signers = collect_signatures(ctx);
    r.content = std::move(body.content);
    judge(r, body.sender);
    return r;
}

}  // namespace keyfence::mail::pgp
