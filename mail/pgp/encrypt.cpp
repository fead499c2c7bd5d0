#include "mail/pgp/encrypt.hpp"

#include <cstdlib>

#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/gpg_process.hpp"
#include "mail/pgp/mime_parts.hpp"
#include "mail/pgp/stream_data.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// GPGME's reading of an INV_RECP reason (doc/DETAILS): the error it stands for.
gpgme_error_t invalid_recipient_reason(int reason) {
    switch (reason) {
        case 1:
            return ::gpg_error(GPG_ERR_NO_PUBKEY);
        case 2:
            return ::gpg_error(GPG_ERR_AMBIGUOUS_NAME);
        case 3:
            return ::gpg_error(GPG_ERR_WRONG_KEY_USAGE);
        case 4:
            return ::gpg_error(GPG_ERR_CERT_REVOKED);
        case 5:
            return ::gpg_error(GPG_ERR_CERT_EXPIRED);
        case 10:
            return ::gpg_error(GPG_ERR_PUBKEY_NOT_TRUSTED);
        default:
            return ::gpg_error(GPG_ERR_UNUSABLE_PUBKEY);
    }
}

// RFC 3156 §4: multipart/encrypted; protocol="application/pgp-encrypted", a control part
// "Version: 1", then the armored OpenPGP message as application/octet-stream.
std::string encrypted_message(mime::Message& message, const std::string& armored) {
    GMimeMultipartEncrypted* raw = g_mime_multipart_encrypted_new();
    mime::GPtr<GMimeObject> multipart(GMIME_OBJECT(raw));
    g_mime_multipart_set_boundary(GMIME_MULTIPART(raw), nullptr);  // a fresh random boundary
    g_mime_object_set_content_type_parameter(multipart.get(), "protocol",
                                             "application/pgp-encrypted");
    auto control = armored_part("pgp-encrypted", "Version: 1\r\n");
    auto data = armored_part("octet-stream", armored);
    g_mime_object_set_content_type_parameter(data.get(), "name", "encrypted.asc");
    g_mime_multipart_add(GMIME_MULTIPART(raw), control.get());
    g_mime_multipart_add(GMIME_MULTIPART(raw), data.get());
    return message.with_body(multipart.get());
}

// One gpg call: encrypt (and sign) `in` to `out`, then the checks of its result.
base::Status encrypt_data(Context& ctx, gpgme_data_t in, gpgme_data_t out,
                          const std::vector<gpgme_key_t>& recipients, gpgme_key_t signer) {
    gpgme_ctx_t c = ctx.get();
    std::vector<gpgme_key_t> keys = recipients;
    keys.push_back(nullptr);  // GPGME wants a NULL-terminated array
    const auto flags = static_cast<gpgme_encrypt_flags_t>(GPGME_ENCRYPT_ALWAYS_TRUST);
    gpgme_signers_clear(c);
    gpgme_error_t err = 0;
    if (signer != nullptr) {
        if (err = gpgme_signers_add(c, signer); err != 0) {
            return gpg_error(err, "gpg cannot sign with this key");
        }
        err = gpgme_op_encrypt_sign(c, keys.data(), flags, in, out);
    } else {
        err = gpgme_op_encrypt(c, keys.data(), flags, in, out);
    }
    gpgme_signers_clear(c);
    if (gpgme_encrypt_result_t result = gpgme_op_encrypt_result(c);
        result != nullptr && result->invalid_recipients != nullptr) {
        const char* fpr = result->invalid_recipients->fpr;
        return gpg_error(result->invalid_recipients->reason,
                         std::string("the recipient key ") + (fpr != nullptr ? fpr : "?") +
                             " cannot be encrypted to",
                         ErrorCode::KeyNotFound);
    }
    if (err != 0) return gpg_error(err, "gpg did not encrypt", ErrorCode::ModuleFailure);
    if (signer != nullptr) {
        gpgme_sign_result_t signed_result = gpgme_op_sign_result(c);
        if (signed_result == nullptr || signed_result->signatures == nullptr) {
            return base::Error(ErrorCode::ModuleFailure, "gpg encrypted but made no signature");
        }
    }
    return {};
}
}  // namespace

base::Result<std::string> finish_encryption(Context& ctx, PreparedContent& prepared,
                                            const std::vector<gpgme_key_t>& recipients,
                                            gpgme_key_t signer) {
    auto in = gpgme_data_from(prepared.content);
    auto out = gpgme_memory_data();
    KEYFENCE_TRY(encrypt_data(ctx, in.get(), out.get(), recipients, signer));
    return encrypted_message(prepared.message, gpgme_data_bytes(out.get()));
}

base::Status finish_file_encryption(Context& ctx, PreparedFile& prepared,
                                    const std::vector<gpgme_key_t>& recipients, gpgme_key_t signer,
                                    const OutputFn& out, const smime::ProgressFn& progress) {
    // The frame around gpg's output: the message with a marker where the armored text goes.
    const std::string marker = "KEYFENCE-ARMORED-OPENPGP-MESSAGE";
    const std::string whole = encrypted_message(prepared.message, marker + "\r\n");
    const std::size_t at = whole.find(marker + "\r\n");
    if (at == std::string::npos || whole.find(marker) != at ||
        whole.find(marker, at + 1) != std::string::npos) {
        return base::Error(ErrorCode::Internal,
                           "GMime did not write the multipart/encrypted frame");
    }
    // gpg reads the content file directly as its standard input (no copy through GPGME's
    // pipes, mail/pgp/gpg_process.hpp); its armored output streams to `out` as it comes. The
    // recipients were named by the user: their keys are used whatever their trust, as
    // GPGME_ENCRYPT_ALWAYS_TRUST does.
    GpgRun run;
    run.arguments = {"--armor", "--trust-model", "always", "--encrypt"};
    for (gpgme_key_t key : recipients) {
        if (key == nullptr || key->fpr == nullptr) {
            return base::Error(ErrorCode::Internal, "a recipient key without a fingerprint");
        }
        run.arguments.insert(run.arguments.end(), {"--recipient", key->fpr});
    }
    if (signer != nullptr) {
        if (signer->fpr == nullptr) return base::Error(ErrorCode::Internal, "no signing key");
        run.arguments.insert(run.arguments.end(), {"--sign", "--local-user", signer->fpr});
    }
    run.arguments.insert(run.arguments.end(), {"--output", "-", "-"});
    smime::BufferedWriter writer(out);
    writer.write(std::string_view(whole).substr(0, at));
    ArmorSink sink{[&](std::string_view bytes) { return writer.write(bytes); }};
    run.stdin_fd = prepared.content.fd();
    run.total = prepared.content_size;
    run.progress = progress;
    run.output = [&](std::string_view bytes) { return armor_write(sink, bytes); };
    KEYFENCE_TRY_ASSIGN(result, run_gpg(ctx, run));
    KEYFENCE_TRY(writer.status());
    // INV_RECP <reason> <recipient> (doc/DETAILS)
    if (const auto invalid = result.find("INV_RECP")) {
        const std::size_t sp = invalid->find(' ');
        const std::string who = sp == std::string::npos ? "?" : invalid->substr(sp + 1);
        return gpg_error(invalid_recipient_reason(std::atoi(invalid->c_str())),
                         "the recipient key " + who + " cannot be encrypted to",
                         ErrorCode::KeyNotFound);
    }
    if (!result.exited_ok || result.output_failed || !result.find("END_ENCRYPTION")) {
        if (result.failure != 0) {
            return gpg_error(result.failure, "gpg did not encrypt", ErrorCode::ModuleFailure);
        }
        return base::Error(ErrorCode::ModuleFailure, "gpg did not encrypt");
    }
    if (signer != nullptr && !result.find("SIG_CREATED")) {
        return base::Error(ErrorCode::ModuleFailure, "gpg encrypted but made no signature");
    }
    writer.write(std::string_view(whole).substr(at + marker.size() + 2));
    KEYFENCE_TRY(writer.status());
    return writer.flush();
}

}  // namespace keyfence::mail::pgp
