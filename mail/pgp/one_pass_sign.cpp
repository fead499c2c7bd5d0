#include "mail/pgp/one_pass_sign.hpp"

#include <openssl/evp.h>

#include <atomic>
#include <ctime>

#include "mail/pgp/agent_sign.hpp"
#include "mail/pgp/keys.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/smime/stream_hash.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// The OpenPGP public-key algorithm (RFC 4880 §9.1) of a signing subkey as GPGME lists it, or 0
// for one Keyfence does not sign with.
std::uint8_t openpgp_algorithm(gpgme_pubkey_algo_t algo) {
    switch (algo) {
        case GPGME_PK_RSA:
            return k_pk_rsa;
        case GPGME_PK_RSA_S:
            return k_pk_rsa_sign;
        case GPGME_PK_ECDSA:
            return k_pk_ecdsa;
        case GPGME_PK_EDDSA:
            return k_pk_eddsa;
        default:
            return 0;
    }
}

const EVP_MD* evp_of(gpgme_hash_algo_t algo) {
    if (algo == GPGME_MD_SHA512) return EVP_sha512();
    return algo == GPGME_MD_SHA384 ? EVP_sha384() : EVP_sha256();
}
}  // namespace

base::Result<OnePassSignature> OnePassSignature::open(const std::string& path, gpgme_key_t signer) {
    if (signer == nullptr || signer->fpr == nullptr) {
        return base::Error(ErrorCode::Internal, "no signing key");
    }
    gpgme_subkey_t sub = signing_subkey(signer);
    if (sub == nullptr || sub->fpr == nullptr || sub->keygrip == nullptr) {
        return base::Error(ErrorCode::Internal, "the signing subkey has no fingerprint or keygrip");
    }
    const std::uint8_t algo = openpgp_algorithm(sub->pubkey_algo);
    if (algo == 0) {
        const char* name = gpgme_pubkey_algo_name(sub->pubkey_algo);
        return base::Error(ErrorCode::Unsupported,
                           std::string("Keyfence signs with RSA, ECDSA and EdDSA keys, not ") +
                               (name != nullptr ? name : "this algorithm"));
    }
    KEYFENCE_TRY_ASSIGN(issuer, fingerprint_bytes(sub->fpr));
    const gpgme_hash_algo_t hash = signature_hash(sub);
    SignatureParams params{algo, static_cast<std::uint8_t>(hash), 0, issuer};
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
// with the boundary fixed by the first call and the micalg of the signature's hash.
base::Result<std::pair<std::string, std::string>> OnePassSignature::frame(
    const std::string& signature) {
    auto multipart = multipart_signed();
    auto* raw = GMIME_MULTIPART(multipart.get());
    if (m_boundary.empty()) {
        m_boundary = g_mime_multipart_get_boundary(raw);
    } else {
        g_mime_multipart_set_boundary(raw, m_boundary.c_str());
    }
    const std::string micalg = micalg_for(hash());
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg", micalg.c_str());
    auto placeholder = armored_part("octet-stream", "");
    g_mime_multipart_add(raw, placeholder.get());
    g_mime_multipart_add(raw, signature_part(signature).get());
    return signed_frame(m_message, multipart.get());
}

base::Status OnePassSignature::stream(const OutputFn& out, const smime::ProgressFn& progress) {
    m_out = out;
    KEYFENCE_TRY(m_out(m_head));
    // GMime's canonical writing on this thread; the hashes and the hand-over to the output on
    // the hasher's (mail/smime/stream_hash.hpp): on two cores they overlap. The prompt's SHA-256
    // is also the signature's hash unless the key needs a longer one.
    base::Status written_out;             // the worker's, read after finish()
    std::atomic<bool> out_failed{false};  // stops GMime early when the output failed
    std::vector<const EVP_MD*> mds{EVP_sha256()};
    if (hash() != GPGME_MD_SHA256) mds.push_back(evp_of(hash()));
    smime::BackgroundHasher hasher(mds, [&](std::string_view block) {
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
    KEYFENCE_TRY_ASSIGN(sha256, hashes.front().so_far());
    m_sha256 = std::move(sha256);
    m_hash.emplace(std::move(hashes.back()));
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
    KEYFENCE_TRY_ASSIGN(mpis, agent_sign_digest(homedir, m_keygrip, m_params.pubkey_algo,
                                                m_params.hash_algo, digest, answerer));
    const std::string signature = armored_signature(signature_packet(m_params, digest, mpis));
    KEYFENCE_TRY_ASSIGN(frame, this->frame(signature));
    if (frame.first != m_head) {
        return base::Error(ErrorCode::Internal,
                           "GMime wrote another multipart/signed head; nothing was written");
    }
    KEYFENCE_TRY(m_out(frame.second));
    return micalg_for(hash());
}

}  // namespace keyfence::mail::pgp
