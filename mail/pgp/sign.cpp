#include "mail/pgp/sign.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "mail/mime/raw_entity.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/mime_parts.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// Fault defence: a signature gpg cannot verify over the content never leaves.
base::Status check_signature(Context& ctx, const std::string& content,
                             const std::string& signature) {
    auto sig = gpgme_data_from(signature);
    auto text = gpgme_data_from(content);
    const gpgme_error_t err = gpgme_op_verify(ctx.get(), sig.get(), text.get(), nullptr);
    gpgme_verify_result_t result = gpgme_op_verify_result(ctx.get());
    if (err != 0 || result == nullptr || result->signatures == nullptr ||
        gpg_err_code(result->signatures->status) != GPG_ERR_NO_ERROR) {
        return base::Error(ErrorCode::ModuleFailure,
                           "the token's OpenPGP signature does not verify; it was withheld",
                           "check the token and the key binding ('keyfence pgp bind')");
    }
    return {};
}

// RFC 3156 §5: multipart/signed; the first part is the exact bytes signed.
base::Result<std::string> signed_message(PreparedContent& p, const std::string& signature,
                                         const std::string& micalg) {
    GMimeMultipartSigned* raw = g_mime_multipart_signed_new();
    mime::GPtr<GMimeObject> multipart(GMIME_OBJECT(raw));
    g_mime_multipart_set_boundary(GMIME_MULTIPART(raw), nullptr);  // a fresh random boundary
    g_mime_object_set_content_type_parameter(multipart.get(), "protocol",
                                             "application/pgp-signature");
    g_mime_object_set_content_type_parameter(multipart.get(), "micalg", micalg.c_str());
    KEYFENCE_TRY_ASSIGN(entity, mime::parse_entity(p.content));
    auto signature_part = armored_part("pgp-signature", signature);
    g_mime_object_set_content_type_parameter(signature_part.get(), "name", "signature.asc");
    g_mime_multipart_add(GMIME_MULTIPART(raw), entity.get());
    g_mime_multipart_add(GMIME_MULTIPART(raw), signature_part.get());
    const std::string boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(raw));
    std::string out = p.message.with_body(multipart.get());
    // GMime must write the signed part byte for byte as it was signed; check rather than trust.
    KEYFENCE_TRY_ASSIGN(written, mime::first_body_part(out, boundary));
    if (written != p.content) {
        return base::Error(ErrorCode::Internal,
                           "GMime did not write the signed part as it was signed; nothing was "
                           "written");
    }
    return out;
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
    gpgme_ctx_t c = ctx.get();
    gpgme_signers_clear(c);
    if (auto err = gpgme_signers_add(c, signer); err != 0) {
        return gpg_error(err, "gpg cannot sign with this key");
    }
    auto in = gpgme_data_from(prepared.content);
    auto out = gpgme_memory_data();
    if (auto err = gpgme_op_sign(c, in.get(), out.get(), GPGME_SIG_MODE_DETACH); err != 0) {
        return gpg_error(err, "the token did not sign", ErrorCode::ModuleFailure);
    }
    gpgme_sign_result_t result = gpgme_op_sign_result(c);
    if (result == nullptr || result->signatures == nullptr || result->invalid_signers != nullptr) {
        return base::Error(ErrorCode::ModuleFailure, "gpg made no signature");
    }
    const std::string micalg = micalg_for(result->signatures->hash_algo);
    const std::string signature = gpgme_data_bytes(out.get());
    gpgme_signers_clear(c);
    KEYFENCE_TRY(check_signature(ctx, prepared.content, signature));
    KEYFENCE_TRY_ASSIGN(message, signed_message(prepared, signature, micalg));
    return SignedMessage{std::move(message), micalg};
}

}  // namespace keyfence::mail::pgp
