#include "mail/pgp/one_pass_sign.hpp"

#include <atomic>
#include <ctime>

#include "mail/pgp/agent_sign.hpp"
#include "mail/pgp/keys.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/smime/stream_hash.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

constexpr std::uint8_t k_rsa = 1;
constexpr std::uint8_t k_sha256 = 8;
}  // namespace

base::Result<OnePassSignature> OnePassSignature::open(const std::string& path, gpgme_key_t signer) {
    if (signer == nullptr || signer->fpr == nullptr) {
        return base::Error(ErrorCode::Internal, "no signing key");
    }
    gpgme_subkey_t sub = signing_subkey(signer);
    if (!agent_checks_signatures(signer) || sub == nullptr ||
        !is_rsa(static_cast<unsigned long>(sub->pubkey_algo))) {
        return base::Error(ErrorCode::Unsupported,
                           "one-pass signing is for RSA keys, whose signatures gpg-agent checks");
    }
    if (sub->fpr == nullptr || sub->keygrip == nullptr) {
        return base::Error(ErrorCode::Internal, "the signing subkey has no fingerprint or keygrip");
    }
    KEYFENCE_TRY_ASSIGN(issuer, fingerprint_bytes(sub->fpr));
    // SHA-256, the hash the prompt shows too: one hash gives both (RSA takes any hash; gpg's
    // own default for these keys is SHA-256 too, through the home's gpg.conf).
    SignatureParams params{k_rsa, k_sha256, 0, issuer};
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    // RFC 3156 §3: signed data must be 7bit so that no transport hop changes a byte.
    g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    // The message's body becomes the multipart/signed when the frame is made: keep the entity.
    mime::GPtr<GMimeObject> body(GMIME_OBJECT(g_object_ref(parsed.body())));
    OnePassSignature one(std::move(parsed), std::move(body), sub->keygrip, params);
    KEYFENCE_TRY_ASSIGN(frame, one.frame(std::string()));
    one.m_head = std::move(frame.first);
    return one;
}

// The frame around the signed part with `signature` as the second part: the multipart/signed
// with the boundary fixed by the first call and micalg pgp-sha256.
base::Result<std::pair<std::string, std::string>> OnePassSignature::frame(
    const std::string& signature) {
    auto multipart = multipart_signed();
    auto* raw = GMIME_MULTIPART(multipart.get());
    if (m_boundary.empty()) {
        m_boundary = g_mime_multipart_get_boundary(raw);
    } else {
        g_mime_multipart_set_boundary(raw, m_boundary.c_str());
    }
    const std::string micalg = micalg_for(GPGME_MD_SHA256);
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg", micalg.c_str());
    auto placeholder = armored_part("octet-stream", "");
    g_mime_multipart_add(raw, placeholder.get());
    g_mime_multipart_add(raw, signature_part(signature).get());
    return signed_frame(m_message, multipart.get());
}

base::Status OnePassSignature::stream(const OutputFn& out, const smime::ProgressFn& progress) {
    m_out = out;
    KEYFENCE_TRY(m_out(m_head));
    // GMime's canonical writing on this thread; the SHA-256 and the hand-over to the output on
    // the hasher's (mail/smime/stream_hash.hpp): on two cores they overlap.
    base::Status written_out;             // the worker's, read after finish()
    std::atomic<bool> out_failed{false};  // stops GMime early when the output failed
    smime::BackgroundHasher hasher({EVP_sha256()}, [&](std::string_view block) {
        written_out = m_out(block);
        if (!written_out) out_failed = true;
        return static_cast<bool>(written_out);
    });
    std::uint64_t size = 0;
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        if (out_failed) return false;
        if (progress) progress(size, 0);
        hasher.update(bytes);
        size += bytes.size();
        return true;
    });
    const bool written = mime::write_canonical(m_body.get(), sink.get());
    std::vector<smime::Hasher> hashes = hasher.finish();
    KEYFENCE_TRY(written_out);
    if (!written) return base::Error(ErrorCode::Internal, "GMime could not write the message body");
    m_size = size;
    m_hash.emplace(std::move(hashes.front()));
    KEYFENCE_TRY_ASSIGN(sha256, m_hash->so_far());
    m_sha256 = std::move(sha256);
    return {};
}

base::Result<std::string> OnePassSignature::finish(const std::string& homedir,
                                                   PassphraseAnswerer& answerer) {
    if (!m_hash) return base::Error(ErrorCode::Internal, "the content was not streamed");
    // The trailer is hashed after the content, so the creation time is the signing's, as gpg's
    // would be, not the time the content was read (the engine's confirmation comes between).
    m_params.created = static_cast<std::uint32_t>(std::time(nullptr));
    m_hash->update(hash_trailer(m_params));
    const std::vector<std::uint8_t> digest = m_hash->final();
    m_hash.reset();
    KEYFENCE_TRY_ASSIGN(sig_val, agent_sign_digest(homedir, m_keygrip, k_sha256, digest, answerer));
    KEYFENCE_TRY_ASSIGN(mpis, rsa_signature_mpis(sig_val));
    const std::string signature = armored_signature(signature_packet(m_params, digest, mpis));
    KEYFENCE_TRY_ASSIGN(frame, this->frame(signature));
    if (frame.first != m_head) {
        return base::Error(ErrorCode::Internal,
                           "GMime wrote another multipart/signed head; nothing was written");
    }
    KEYFENCE_TRY(m_out(frame.second));
    return micalg_for(GPGME_MD_SHA256);
}

}  // namespace keyfence::mail::pgp
