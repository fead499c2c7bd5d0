#include "mail/pgp/verify.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "mail/pgp/bio_data.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/keys.hpp"
#include "mail/pgp/signed_entity.hpp"
#include "mail/smime/stream_first_part.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {
namespace {

constexpr std::size_t k_max_checked_parts = 16;  // docs/limits.md

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

std::string utc_time(std::int64_t seconds) {
    if (seconds == 0) return {};
    const std::time_t t = static_cast<std::time_t>(seconds);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::int64_t now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

// The key's state at `at`: the signing subkey's and the primary key's expiry (RFC 4880
// §5.2.3.6), from the keyring. gpg judges expiry at its own clock; archived mail is judged at
// the time asked for.
void describe_key(Context& ctx, SignatureInfo& info, std::int64_t at) {
    gpgme_key_t key = nullptr;
    if (info.fingerprint.empty() ||
        gpgme_get_key(ctx.get(), info.fingerprint.c_str(), &key, 0) != 0 || key == nullptr) {
        return;
    }
    GpgmeKeyPtr owned(key);
    info.key_known = true;
    info.key_revoked = key->revoked != 0;
    std::int64_t expires = 0;
    for (gpgme_subkey_t sub = key->subkeys; sub != nullptr; sub = sub->next) {
        const bool primary = sub == key->subkeys;
        if (primary && sub->fpr != nullptr) info.primary = sub->fpr;
        const bool signer = sub->fpr != nullptr && info.fingerprint == sub->fpr;
        if (!primary && !signer) continue;
        if (signer && sub->revoked) info.key_revoked = true;
        if (sub->expires > 0 && (expires == 0 || sub->expires < expires)) expires = sub->expires;
    }
    info.key_expires = utc_time(expires);
    info.key_expired = expires > 0 && expires <= at;
    for (gpgme_user_id_t uid = key->uids; uid != nullptr; uid = uid->next) {
        if (!uid->revoked && !uid->invalid && uid->uid != nullptr) info.uids.push_back(uid->uid);
    }
    info.addresses = key_addresses(key);
}

void fail(VerifyResult& r, std::string code, std::string why) {
    r.failure_code = std::move(code);
    r.failure = std::move(why);
}

std::string lowercase(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// RFC 3156 §5: micalg names the hash of the signature ("pgp-sha256"). A message whose micalg
// disagrees with its signature is not as its sender's program wrote it; when micalg is absent
// there is nothing to compare.
void check_micalg(VerifyResult& r, const std::string& micalg) {
    if (micalg.empty()) return;
    for (const auto& s : r.signers) {
        if (s.hash.empty() || lowercase(micalg) == "pgp-" + lowercase(s.hash)) continue;
        // The message's own text, shown only as letters, digits and '-' (it must not be able to
        // write anything that looks like Keyfence's verdict).
        std::string shown;
        for (const char c : micalg.substr(0, 32)) {
            shown += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '?';
        }
        fail(r, "micalg_mismatch",
             "the micalg parameter says \"" + shown + "\" but the signature was made with " +
                 s.hash + " (RFC 3156 §5: they must agree)");
        return;
    }
}

std::string signer_name(const SignatureInfo& s, std::size_t index, std::size_t count) {
    return "signer " + std::to_string(index + 1) + " of " + std::to_string(count) + " (key " +
           (s.fingerprint.empty() ? std::string("unknown") : s.fingerprint) + ")";
}

// The signatures themselves: present, by known keys, good, and valid at the time.
void judge_signatures(VerifyResult& r) {
    if (r.signers.empty()) return fail(r, "not_signed", "the message has no signature");
    const std::size_t n = r.signers.size();
    for (std::size_t i = 0; i < n; ++i) {
        const auto& s = r.signers[i];
        const std::string who = signer_name(s, i, n);
        if (!s.key_known) {
            return fail(r, "signer_key_missing",
                        "the key of " + who +
                            " is not in the keyring, so its signature cannot be checked; import "
                            "it with 'keyfence pgp import'");
        }
        if (!s.good) {
            return fail(r, "bad_signature",
                        "the signature of " + who +
                            " does not match the content: the message was changed after it was "
                            "signed, or the signature is broken (" +
                            s.status + ")");
        }
        if (s.made_after_at) {
            return fail(r, "signed_after_time",
                        "the signature of " + who + " was made at " + s.created + ", after " +
                            r.at + ", the time of verification");
        }
        if (s.key_revoked) return fail(r, "key_revoked", "the key of " + who + " is revoked");
        if (s.key_expired) {
            return fail(r, "key_expired",
                        "the key of " + who + " had expired at " + r.at + " (it expires " +
                            s.key_expires + "; signed at " + s.created +
                            "); archived mail can be checked as of its arrival with --at");
        }
        if (s.signature_expired) {
            return fail(r, "signature_expired",
                        "the signature of " + who + " had expired at " + r.at + " (it expires " +
                            s.signature_expires + ")");
        }
    }
}

std::string part_description(const SignedPartResult& p) {
    std::string s = mime::describe_path(p.path) + " (" + p.type;
    if (!p.context.empty()) s += ", " + p.context;
    s += ")";
    for (std::size_t i = 0; i < p.signers.size(); ++i) {
        const auto& signer = p.signers[i];
        s += (i == 0 ? " is signed by key " : ", key ") +
             (signer.fingerprint.empty() ? std::string("unknown") : signer.fingerprint);
        if (!signer.uids.empty()) s += " " + mime::quote(signer.uids.front());
    }
    return s;
}

// The message is signed only in part: say which part, by whom, and what is not.
void judge_partial(VerifyResult& r) {
    std::string signed_list;
    for (const auto& p : r.signed_parts) {
        signed_list += (signed_list.empty() ? "" : "; ") + part_description(p);
        if (!p.problem.empty()) signed_list += ": " + p.problem;
    }
    std::string unsigned_list;
    for (const auto& [path, what] : r.unsigned_parts) {
        unsigned_list +=
            (unsigned_list.empty() ? "" : ", ") + mime::describe_path(path) + " (" + what + ")";
    }
    fail(r, "partially_signed",
         "only a part of this message is signed, not the message as a whole: " + signed_list +
             "; " +
             (unsigned_list.empty() ? std::string("the rest") : "the unsigned " + unsigned_list) +
             " could have been written by anyone");
}

// The message a verification streams from, and who receives the signed content as it passes.
struct StreamSource {
    std::string path;
    ContentSink tee;
};

// What gpg made of one signed entity, and the content it covers.
struct CheckedPart {
    SignedPartResult part;
    std::string content;  ///< empty when streamed to the tee
};

// gpg verifies `in` with `text` as the signed content (null: an inline block, whose text gpg
// writes to `plain`).
gpgme_error_t run_verify(Context& ctx, const SignedInput& in, gpgme_data_t text,
                         gpgme_data_t plain) {
    auto sig = gpgme_data_from(in.signature);
    return text == nullptr ? gpgme_op_verify(ctx.get(), sig.get(), nullptr, plain)
                           : gpgme_op_verify(ctx.get(), sig.get(), text, nullptr);
}

// gpg checks one signed entity; its signers are recorded at `at` (now when not asked).
base::Result<CheckedPart> check_part(Context& ctx, SignedInput& in, std::optional<std::int64_t> at,
                                     const StreamSource* file) {
    CheckedPart c{{in.entity.path, in.entity.type, in.entity.context, {}, in.problem}, {}};
    SignedPartResult& part = c.part;
    if (in.inline_block && part.context.empty()) part.context = "inline signed block";
    if (!in.problem.empty()) return c;
    GpgmeDataPtr plain = gpgme_memory_data();
    gpgme_error_t err = 0;
    if (in.streamed && file != nullptr) {
        // The signed part streams from the file into gpg (and on to the tee): constant memory.
        KEYFENCE_TRY_ASSIGN(bio, smime::first_part_bio(file->path, in.boundary, file->tee));
        BioSource source{bio.get()};
        auto text = bio_data(source);
        if (!text) return base::Error(base::ErrorCode::Internal, "GPGME is out of memory");
        err = run_verify(ctx, in, text.get(), nullptr);
        if (source.failed) {
            part.problem =
                "the signed part cannot be read from the message: its multipart delimiters are "
                "missing (RFC 2046 §5.1.1), or the file could not be read";
            return c;
        }
    } else if (in.inline_block) {
        err = run_verify(ctx, in, nullptr, plain.get());
    } else {
        auto text = gpgme_data_from(in.content);
        err = run_verify(ctx, in, text.get(), nullptr);
    }
    if (err != 0 && gpg_err_code(err) != GPG_ERR_BAD_SIGNATURE) {
        part.problem = std::string("gpg cannot read the signature (") + gpgme_strerror(err) + ")";
        return c;
    }
    part.signers = collect_signatures(ctx, at);
    if (part.signers.empty()) part.problem = "the signature part holds no OpenPGP signature";
    if (!in.outside.empty()) part.problem = in.outside;
    c.content = in.inline_block ? gpgme_data_bytes(plain.get()) : std::move(in.content);
    return c;
}
}  // namespace

std::vector<SignatureInfo> collect_signatures(Context& ctx, std::optional<std::int64_t> at) {
    std::vector<SignatureInfo> out;
    gpgme_verify_result_t result = gpgme_op_verify_result(ctx.get());
    if (result == nullptr) return out;
    for (gpgme_signature_t sig = result->signatures; sig != nullptr; sig = sig->next) {
        GpgSignature s;
        s.fingerprint = sig->fpr != nullptr ? sig->fpr : "";
        s.status = sig->status;
        s.timestamp = static_cast<std::int64_t>(sig->timestamp);
        s.expires = static_cast<std::int64_t>(sig->exp_timestamp);
        s.hash_algo = static_cast<int>(sig->hash_algo);
        s.validity = sig->validity;
        s.key_revoked = (sig->summary & GPGME_SIGSUM_KEY_REVOKED) != 0;
        out.push_back(describe_signature(ctx, s, at));
    }
    return out;
}

SignatureInfo describe_signature(Context& ctx, const GpgSignature& sig,
                                 std::optional<std::int64_t> at) {
    const std::int64_t when = at.value_or(now());
    SignatureInfo info;
    info.fingerprint = sig.fingerprint;
    info.status = gpgme_strerror(sig.status);
    const auto code = gpg_err_code(sig.status);
    // gpg says "key expired" or "signature expired" (at its own clock) for a signature that
    // matches the content; expiry is judged below at the time of verification.
    info.good = code == GPG_ERR_NO_ERROR || code == GPG_ERR_KEY_EXPIRED ||
                code == GPG_ERR_SIG_EXPIRED || code == GPG_ERR_CERT_REVOKED;
    info.validity = validity_name(sig.validity);
    info.created = utc_time(sig.timestamp);
    info.made_after_at = at.has_value() && sig.timestamp > *at;
    info.signature_expires = utc_time(sig.expires);
    info.signature_expired = sig.expires != 0 && sig.expires <= when;
    if (const char* h = gpgme_hash_algo_name(static_cast<gpgme_hash_algo_t>(sig.hash_algo))) {
        info.hash = h;
    }
    describe_key(ctx, info, when);
    if (code == GPG_ERR_CERT_REVOKED || sig.key_revoked) info.key_revoked = true;
    // Without --at, gpg's own verdict on expiry stands as well.
    if (!at && code == GPG_ERR_KEY_EXPIRED) info.key_expired = true;
    if (!at && code == GPG_ERR_SIG_EXPIRED) info.signature_expired = true;
    if (code == GPG_ERR_NO_PUBKEY) info.key_known = false;
    return info;
}

void judge(VerifyResult& r, const mime::SenderHeaders& sender) {
    r.from_matches = false;
    if (r.at.empty()) r.at = utc_time(now());
    if (r.from_text.empty()) r.from_text = sender.from_text;
    if (r.sender_text.empty()) r.sender_text = sender.sender_text;
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
    r.from_matches = !r.signers.empty() && check.ok();
    judge_signatures(r);
    if (r.verified() && !check.ok()) fail(r, check.code, check.reason);
}

namespace {
base::Result<VerifyResult> verify_prepared(Context& ctx, PreparedVerification& prepared,
                                           const VerifyOptions& options, const StreamSource* file) {
    const std::int64_t at = options.at.value_or(now());
    VerifyResult r;
    r.at = utc_time(at);
    r.from_text = prepared.sender.from_text;
    r.sender_text = prepared.sender.sender_text;
    for (const auto& m : prepared.sender.from) {
        if (!m.address.empty()) r.from_addresses.push_back(m.address);
    }
    for (const auto& u : prepared.coverage.unsigned_parts) {
        r.unsigned_parts.emplace_back(u.path, u.type);
    }
    std::string body_content;
    std::size_t gpg_runs = 0;
    for (auto& in : prepared.inputs) {
        // Each check is a gpg process: a message of a thousand tiny signed parts must not cost
        // a thousand. Beyond the bound, parts are reported unchecked (docs/limits.md); only a
        // partly signed message can have more than one.
        if (in.problem.empty() && ++gpg_runs > k_max_checked_parts) {
            in.problem = "not checked: the message has more than " +
                         std::to_string(k_max_checked_parts) + " signed parts";
        }
        KEYFENCE_TRY_ASSIGN(checked, check_part(ctx, in, options.at, file));
        if (in.entity.path.empty()) body_content = std::move(checked.content);
        // Text around an inline block is the unsigned rest of that part.
        if (!in.outside.empty()) {
            r.unsigned_parts.emplace_back(in.entity.path,
                                          in.entity.type + ", outside the signed block");
        }
        r.signed_parts.push_back(std::move(checked.part));
    }
    const bool whole =
        prepared.coverage.whole_body_signed() && prepared.inputs.front().outside.empty();
    if (whole) {
        auto& body = r.signed_parts.front();
        r.coverage = "whole";
        r.format = prepared.inputs.front().inline_block ? "inline" : "multipart/signed";
        r.signers = std::move(body.signers);
        body.signers.clear();  // reported once, as the message's signers
        if (r.signers.empty()) fail(r, "not_signed", body.problem);
    } else if (!prepared.inputs.empty()) {
        r.coverage = "partial";
    }
    if (r.coverage == "none") {
        fail(r, "not_signed", "the message is not signed with OpenPGP");
    } else if (r.coverage == "partial") {
        judge_partial(r);
    } else if (r.verified()) {
        judge(r, prepared.sender);
        if (r.verified() && r.format == "multipart/signed") {
            check_micalg(r, prepared.inputs.front().micalg);
        }
    }
    if (r.verified()) r.content = std::move(body_content);
    return r;
}
}  // namespace

base::Result<VerifyResult> verify_message(Context& ctx, std::string_view message,
                                          const VerifyOptions& options) {
    KEYFENCE_TRY_ASSIGN(prepared, prepare_verification(message));
    return verify_prepared(ctx, prepared, options, nullptr);
}

base::Result<VerifyResult> verify_message_file(Context& ctx, const std::string& path,
                                               const VerifyOptions& options, ContentSink content) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    if (mime::mime_type(parsed.body()) != "multipart/signed") {
        // Inline blocks and partly signed messages: read into memory (their text is decoded).
        std::string bytes;
        KEYFENCE_TRY(
            smime::read_chunks(path, [&](std::string_view chunk) { bytes.append(chunk); }));
        KEYFENCE_TRY_ASSIGN(result, verify_message(ctx, bytes, options));
        if (content && !result.content.empty()) content(result.content);
        return result;
    }
    KEYFENCE_TRY_ASSIGN(prepared, prepare_file_verification(std::move(parsed)));
    const StreamSource file{path, std::move(content)};
    return verify_prepared(ctx, prepared, options, &file);
}

}  // namespace keyfence::mail::pgp
