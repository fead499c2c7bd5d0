// keyfence smime: the S/MIME command group (RFC 8551). Each subcommand lives in its own file;
// this one registers the group and holds the glue they share.

#include "base/hex.hpp"
#include "cli/exit_codes.hpp"
#include "cli/smime_support.hpp"
#include "mail/smime/certificate.hpp"

namespace keyfence::cli {

std::vector<std::pair<std::string, std::string>> message_summary(
    const mail::mime::MessageHeaders& headers) {
    std::vector<std::pair<std::string, std::string>> lines;
    auto add = [&](const char* label, const std::string& value) {
        if (!value.empty()) lines.emplace_back(label, value);
    };
    add("From", headers.from.empty() ? std::string("(none)") : headers.from);
    add("To", headers.to);
    add("Cc", headers.cc);
    add("Subject", headers.subject);
    add("Date", headers.date);
    return lines;
}

base::Result<base::X509Ptr> key_certificate(const token::pkcs11::KeyMatch& match) {
    if (!match.key.certificate || match.key.certificate->der.empty()) {
        return base::Error(base::ErrorCode::KeyNotFound,
                           "the token holds no certificate for " + match.key.uri,
                           "request one with 'keyfence smime csr' and store the issued "
                           "certificate with 'keyfence smime import-cert'");
    }
    return mail::smime::certificate_from_der(match.key.certificate->der);
}

base::Result<EVP_PKEY*> smime_key(token::pkcs11::KeyLease& lease) {
    if (lease.key().always_authenticate) {
        return base::Error(base::ErrorCode::Unsupported,
                           "the key " + lease.key().uri +
                               " asks for its PIN again for every operation "
                               "(CKA_ALWAYS_AUTHENTICATE); libp11 cannot use it, a delegated "
                               "key must (cli/smime_delegates.hpp)");
    }
    return lease.evp_pkey();
}

engine::OperationRequest smime_request(engine::Operation op, const std::string& key_uri,
                                       const mail::mime::MessageHeaders& headers,
                                       std::span<const std::uint8_t> sha256) {
    engine::OperationRequest request;
    request.operation = op;
    request.key_uri = key_uri;
    request.protocol = engine::Protocol::Smime;
    request.summary = message_summary(headers);
    request.content_sha256 = base::to_hex(sha256);
    request.message_id = headers.message_id;
    return request;
}

base::Status record_operation(engine::Engine& engine, const token::pkcs11::KeyMatch& match,
                              const engine::OperationRequest& request, base::Status result) {
    const auto outcome =
        result ? engine::audit::Outcome{} : engine::audit::Outcome::from_error(result.error());
    auto written = engine.record(match, request, outcome);
    if (!result) return result;
    return written;
}

int finish(const base::Status& status) {
    if (status) return k_exit_ok;
    report_error(status.error());
    return exit_code_for(status.error());
}

void add_smime_commands(CommandContext& context) {
    auto* smime = context.app.add_subcommand(
        "smime", "S/MIME (RFC 8551): sign, verify, encrypt, decrypt mail; enroll token keys");
    smime->require_subcommand(1);
    add_smime_sign_verify(context, smime);
    add_smime_encrypt_decrypt(context, smime);
    add_smime_enrollment(context, smime);
}

}  // namespace keyfence::cli
