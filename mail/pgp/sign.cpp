#include "mail/pgp/sign.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "base/fd.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/pgp/gnupg_tool.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/gpg_process.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/pgp/recipients.hpp"
#include "mail/pgp/stream_data.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// A detached signature is a few hundred bytes; more than this from gpg is not one.
constexpr std::size_t k_max_signature = 1 << 20;

// Fault defence: a signature gpg cannot verify over the content never leaves.
base::Status check_signature(Context& ctx, gpgme_data_t text, const std::string& signature) {
    auto sig = gpgme_data_from(signature);
    const gpgme_error_t err = gpgme_op_verify(ctx.get(), sig.get(), text, nullptr);
    gpgme_verify_result_t result = gpgme_op_verify_result(ctx.get());
    if (err != 0 || result == nullptr || result->signatures == nullptr ||
        gpg_err_code(result->signatures->status) != GPG_ERR_NO_ERROR) {
        return base::Error(ErrorCode::ModuleFailure,
                           "the token's OpenPGP signature does not verify; it was withheld",
                           "check the token and the key binding ('keyfence pgp bind')");
    }
    return {};
}

base::Status check_signature(Context& ctx, const std::string& content,
                             const std::string& signature) {
    auto text = gpgme_data_from(content);
    return check_signature(ctx, text.get(), signature);
}

// Fault defence for a large message: gpg in `homedir` checks `signature` over the file `fd`
// (read from its start as gpg's standard input) and must report it valid (VALIDSIG, doc/DETAILS)
// for `fingerprint`, the key that signed.
base::Status check_file_signature(const std::string& homedir, int fd, const std::string& signature,
                                  const std::string& fingerprint) {
    HomeTempFile sig(homedir);
    if (!sig.write(signature) || ::lseek(fd, 0, SEEK_SET) != 0) {
        return base::Error(ErrorCode::Io, "could not write a temporary file in " + homedir);
    }
    auto status = run_tool_reading({"gpg", "--homedir", homedir, "--batch", "--no-tty",
                                    "--status-fd", "1", "--verify", sig.path(), "-"},
                                   fd);
    if (!status || fingerprint.empty() ||
        status->find("[GNUPG:] VALIDSIG " + fingerprint) == std::string::npos) {
        return base::Error(ErrorCode::ModuleFailure,
                           "the token's OpenPGP signature does not verify; it was withheld",
                           "check the token and the key binding ('keyfence pgp bind')");
    }
    return {};
}

// The first `size` bytes of the file `fd` to `writer`, in 1 MiB blocks.
base::Status copy_file(int fd, std::uint64_t size, smime::BufferedWriter& writer) {
    KEYFENCE_TRY_ASSIGN(copied, base::read_range(fd, 0, size, [&](std::string_view block) {
                            return writer.write(block);
                        }));
    return copied ? base::Status{} : writer.status();
}

// One detached signature by `signer` over `in`; its micalg in `micalg`.
base::Result<std::string> detached_signature(Context& ctx, gpgme_data_t in, gpgme_key_t signer,
                                             std::string& micalg,
                                             std::string* fingerprint = nullptr) {
    gpgme_ctx_t c = ctx.get();
    gpgme_signers_clear(c);
    if (auto err = gpgme_signers_add(c, signer); err != 0) {
        return gpg_error(err, "gpg cannot sign with this key");
    }
    auto out = gpgme_memory_data();
    const gpgme_error_t err = gpgme_op_sign(c, in, out.get(), GPGME_SIG_MODE_DETACH);
    gpgme_sign_result_t result = err == 0 ? gpgme_op_sign_result(c) : nullptr;
    gpgme_signers_clear(c);
    if (err != 0) return gpg_error(err, "the token did not sign", ErrorCode::ModuleFailure);
    if (result == nullptr || result->signatures == nullptr || result->invalid_signers != nullptr) {
        return base::Error(ErrorCode::ModuleFailure, "gpg made no signature");
    }
    micalg = micalg_for(result->signatures->hash_algo);
    if (fingerprint != nullptr && result->signatures->fpr != nullptr) {
        *fingerprint = result->signatures->fpr;
    }
    return gpgme_data_bytes(out.get());
}

// RFC 3156 §5: multipart/signed; the first part is the exact bytes signed.
base::Result<std::string> signed_message(PreparedContent& p, const std::string& signature,
                                         const std::string& micalg) {
    auto multipart = multipart_signed();
    auto* raw = GMIME_MULTIPART(multipart.get());
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg", micalg.c_str());
    KEYFENCE_TRY_ASSIGN(entity, mime::parse_entity(p.content));
    g_mime_multipart_add(raw, entity.get());
    g_mime_multipart_add(raw, signature_part(signature).get());
    return p.message.with_signed_body(multipart.get(), p.content);
}
}  // namespace

std::vector<std::uint8_t> sha256_of(std::string_view bytes) {
    std::vector<std::uint8_t> out(32);
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string micalg_for(gpgme_hash_algo_t algo) {
    const char* name = gpgme_hash_algo_name(algo);
    if (name == nullptr) return {};
    std::string s = std::string("pgp-") + name;
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

namespace {
bool usable_signing_subkey(gpgme_subkey_t sub) {
    return sub->can_sign && !sub->revoked && !sub->expired && !sub->disabled && !sub->invalid;
}

}  // namespace

bool is_rsa(unsigned long pubkey_algo) {
    return pubkey_algo == 1 || pubkey_algo == 3;
}

bool agent_checks_signatures(gpgme_key_t signer) {
    bool any = false;
    for (gpgme_subkey_t sub = signer != nullptr ? signer->subkeys : nullptr; sub != nullptr;
         sub = sub->next) {
        if (!usable_signing_subkey(sub)) continue;
        if (!is_rsa(static_cast<unsigned long>(sub->pubkey_algo))) return false;
        any = true;
    }
    return any;
}

base::Result<PreparedContent> prepare_content(std::string_view message) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    // RFC 3156 §3: signed data must be 7bit so that no transport hop changes a byte.
    g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    std::string content = mime::canonical_bytes(parsed.body());
    auto sha256 = sha256_of(content);
    return PreparedContent{std::move(parsed), std::move(content), std::move(sha256)};
}

base::Result<SignedMessage> finish_signature(Context& ctx, PreparedContent& prepared,
                                             gpgme_key_t signer) {
    auto in = gpgme_data_from(prepared.content);
    std::string micalg;
    KEYFENCE_TRY_ASSIGN(signature, detached_signature(ctx, in.get(), signer, micalg));
    KEYFENCE_TRY(check_signature(ctx, prepared.content, signature));
    KEYFENCE_TRY_ASSIGN(message, signed_message(prepared, signature, micalg));
    return SignedMessage{std::move(message), micalg};
}

base::Result<PreparedFile> prepare_file_content(const std::string& path,
                                                const smime::ProgressFn& progress) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    // RFC 3156 §3: signed data must be 7bit so that no transport hop changes a byte.
    g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    KEYFENCE_TRY_ASSIGN(content, smime::TempFile::create());
    smime::Hasher sha256(EVP_sha256());
    smime::BufferedWriter file(
        [&](std::string_view block) { return smime::write_fd(content.fd(), block); });
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        sha256.update(bytes);
        if (progress) progress(file.written(), 0);
        return file.write(bytes);
    });
    if (!mime::write_canonical(parsed.body(), sink.get())) {
        KEYFENCE_TRY(file.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the message body");
    }
    KEYFENCE_TRY(file.flush());
    const std::uint64_t size = file.written();
    return PreparedFile{std::move(parsed), std::move(content), size, sha256.final()};
}

base::Result<std::string> finish_file_signature(Context& ctx, PreparedFile& prepared,
                                                gpgme_key_t signer, const OutputFn& out,
                                                const smime::ProgressFn& progress) {
    if (signer == nullptr || signer->fpr == nullptr) {
        return base::Error(ErrorCode::Internal, "no signing key");
    }
    // gpg reads the content file directly as its standard input (no copy through GPGME's
    // pipes); its PIN request goes to the once-only answerer (mail/pgp/gpg_process.hpp).
    std::string signature;
    GpgRun run;
    run.arguments = {"--armor", "--local-user", signer->fpr, "--detach-sign", "--output", "-", "-"};
    run.stdin_fd = prepared.content.fd();
    run.total = prepared.content_size;
    run.progress = progress;
    run.output = [&](std::string_view bytes) {
        signature.append(bytes);
        return signature.size() <= k_max_signature;
    };
    KEYFENCE_TRY_ASSIGN(result, run_gpg(ctx, run));
    const auto created = sig_created(result);
    if (!result.exited_ok || !created || signature.empty() || result.output_failed) {
        if (result.failure != 0) {
            return gpg_error(result.failure, "the token did not sign", ErrorCode::ModuleFailure);
        }
        return base::Error(ErrorCode::ModuleFailure, "gpg made no signature");
    }
    const std::string micalg = micalg_for(static_cast<gpgme_hash_algo_t>(created->hash_algo));
    const std::string& fingerprint = created->fingerprint;

    auto multipart = multipart_signed();
    auto* raw = GMIME_MULTIPART(multipart.get());
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg", micalg.c_str());
    auto placeholder = armored_part("octet-stream", "");
    g_mime_multipart_add(raw, placeholder.get());
    g_mime_multipart_add(raw, signature_part(signature).get());
    KEYFENCE_TRY_ASSIGN(frame, signed_frame(prepared.message, multipart.get()));

    // Fault defence: a signature that does not verify never leaves. For an RSA key (OpenPGP
    // public-key algorithm 1 or 3) gpg-agent 2.2 already verifies the token's signature over
    // gpg's digest with the public key before handing it to gpg, and fails the operation
    // otherwise (agent/pksign.c, smartcard path: check_signature for RSA; docs/pgp.md "Large
    // messages" has the evidence). For ECDSA and EdDSA card keys the agent does not, so a second
    // gpg checks the signature, reading the content file as its standard input, while the
    // content is copied to the output. Nothing reaches the output's owner unless the check
    // passed (AtomicOutput).
    const bool agent_checked = is_rsa(created->pubkey_algo);
    base::Status checked;
    std::thread checker;
    if (!agent_checked) {
        checker = std::thread([&] {
            checked =
                check_file_signature(ctx.homedir(), prepared.content.fd(), signature, fingerprint);
        });
    }
    smime::BufferedWriter writer(out);
    writer.write(frame.first);
    base::Status copied = copy_file(prepared.content.fd(), prepared.content_size, writer);
    if (checker.joinable()) checker.join();
    KEYFENCE_TRY(checked);
    KEYFENCE_TRY(copied);
    writer.write(frame.second);
    KEYFENCE_TRY(writer.status());
    KEYFENCE_TRY(writer.flush());
    return micalg;
}

}  // namespace keyfence::mail::pgp
