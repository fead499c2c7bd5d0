#include "mail/pgp/one_pass_sign.hpp"

#include <openssl/evp.h>

#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/mime_parts.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// A detached signature is a few hundred bytes; more than this from gpg is not one.
constexpr std::size_t k_max_signature = 1 << 20;
}  // namespace

base::Result<OnePassSignature> OnePassSignature::open(const std::string& path, gpgme_key_t signer) {
    if (signer == nullptr || signer->fpr == nullptr) {
        return base::Error(ErrorCode::Internal, "no signing key");
    }
    if (!agent_checks_signatures(signer)) {
        return base::Error(ErrorCode::Unsupported,
                           "one-pass signing is for RSA keys, whose signatures gpg-agent checks");
    }
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    // RFC 3156 §3: signed data must be 7bit so that no transport hop changes a byte.
    g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    // The message's body becomes the multipart/signed when the frame is made: keep the entity.
    mime::GPtr<GMimeObject> body(GMIME_OBJECT(g_object_ref(parsed.body())));
    OnePassSignature one(std::move(parsed), std::move(body), signing_digest(signer), signer->fpr);
    KEYFENCE_TRY_ASSIGN(frame, one.frame(std::string()));
    one.m_head = std::move(frame.first);
    return one;
}

// The frame around the signed part with `signature` as the second part: the multipart/signed
// with the boundary fixed by the first call and the micalg of the digest chosen.
base::Result<std::pair<std::string, std::string>> OnePassSignature::frame(
    const std::string& signature) {
    auto multipart = multipart_signed();
    auto* raw = GMIME_MULTIPART(multipart.get());
    if (m_boundary.empty()) {
        m_boundary = g_mime_multipart_get_boundary(raw);
    } else {
        g_mime_multipart_set_boundary(raw, m_boundary.c_str());
    }
    const std::string micalg = micalg_for(m_digest.algo);
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg", micalg.c_str());
    auto placeholder = armored_part("octet-stream", "");
    g_mime_multipart_add(raw, placeholder.get());
    g_mime_multipart_add(raw, signature_part(signature).get());
    return signed_frame(m_message, multipart.get());
}

base::Status OnePassSignature::stream(Context& ctx, const OutputFn& out,
                                      const smime::ProgressFn& progress) {
    m_out = out;
    GpgRun run;
    run.arguments = {"--armor",
                     "--digest-algo",
                     m_digest.gpg_name,
                     "--local-user",
                     m_fingerprint,
                     "--detach-sign",
                     "--output",
                     "-",
                     "-"};
    run.stdin_fd = k_gpg_stdin_pipe;
    std::string* signature = m_signature.get();
    run.output = [signature](std::string_view bytes) {
        signature->append(bytes);
        return signature->size() <= k_max_signature;
    };
    KEYFENCE_TRY_ASSIGN(gpg, GpgProcess::start(ctx, std::move(run)));
    m_gpg.emplace(std::move(gpg));

    KEYFENCE_TRY(m_out(m_head));
    // Each 1 MiB block goes to gpg first (it hashes on its own core meanwhile), then to the
    // SHA-256 for the prompt and to the output.
    smime::Hasher sha256(EVP_sha256());
    bool gpg_stopped = false;
    smime::BufferedWriter writer([&](std::string_view block) -> base::Status {
        if (auto fed = m_gpg->feed(block); !fed) {
            gpg_stopped = true;
            return fed;
        }
        sha256.update(block);
        return m_out(block);
    });
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        if (progress) progress(writer.written(), 0);
        return writer.write(bytes);
    });
    const bool written = mime::write_canonical(m_body.get(), sink.get());
    const base::Status flushed = written ? writer.flush() : writer.status();
    if (gpg_stopped) {
        // gpg ended before its input did (an unusable key, say): its own reason is the error.
        auto result = m_gpg->finish();
        if (result && result->failure != 0) {
            return gpg_error(result->failure, "gpg cannot sign", ErrorCode::ModuleFailure);
        }
    }
    KEYFENCE_TRY(flushed);
    if (!written) return base::Error(ErrorCode::Internal, "GMime could not write the message body");
    m_size = writer.written();
    m_sha256 = sha256.final();
    return {};
}

base::Result<std::string> OnePassSignature::finish() {
    if (!m_gpg) return base::Error(ErrorCode::Internal, "the content was not streamed to gpg");
    KEYFENCE_TRY_ASSIGN(result, m_gpg->finish());
    const auto created = sig_created(result);
    const std::string& signature = *m_signature;
    if (!result.exited_ok || !created || signature.empty() || result.output_failed) {
        if (result.failure != 0) {
            return gpg_error(result.failure, "the token did not sign", ErrorCode::ModuleFailure);
        }
        return base::Error(ErrorCode::ModuleFailure, "gpg made no signature");
    }
    // The micalg is in the head already written: the signature must use that hash. And only an
    // RSA signature was checked by gpg-agent (the fault defence of this path).
    if (created->hash_algo != static_cast<unsigned long>(m_digest.algo)) {
        return base::Error(ErrorCode::ModuleFailure,
                           "gpg signed with another hash than the micalg written (" +
                               micalg_for(m_digest.algo) + "); nothing was written");
    }
    if (!is_rsa(created->pubkey_algo)) {
        return base::Error(ErrorCode::ModuleFailure,
                           "gpg signed with a key that is not RSA; nothing was written");
    }
    KEYFENCE_TRY_ASSIGN(frame, this->frame(signature));
    if (frame.first != m_head) {
        return base::Error(ErrorCode::Internal,
                           "GMime wrote another multipart/signed head; nothing was written");
    }
    KEYFENCE_TRY(m_out(frame.second));
    return micalg_for(m_digest.algo);
}

void OnePassSignature::abandon() noexcept {
    if (m_gpg) m_gpg->kill();
}

}  // namespace keyfence::mail::pgp
