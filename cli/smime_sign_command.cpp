// keyfence smime sign (verify: cli/smime_verify_command.cpp).

#include <cstdio>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "cli/exit_codes.hpp"
#include "cli/smime_report.hpp"  // add_smime_verify
#include "cli/smime_support.hpp"
#include "mail/smime/cert_store.hpp"
#include "mail/smime/certificate.hpp"
#include "mail/smime/sign.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;

namespace {
struct SmimeSignOptions {
    std::string key_uri;
    bool opaque = false;
    bool pss = false;
    std::string hash;  ///< empty: by key (RFC 5480 §4 for EC)
    std::string chain;
    std::string in = "-";
    std::string out = "-";
};

base::Status smime_sign(const GlobalOptions& globals, const SmimeSignOptions& options) {
    auto engine = make_engine(globals);
    warn_module_failures(engine->module_failures());
    // Everything that can fail without the token fails before the PIN is asked.
    KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
    if (options.pss && match.key.algorithm != p11::KeyAlgorithm::Rsa) {
        return base::Error(base::ErrorCode::Usage,
                           "--pss applies to RSA keys; " + match.key.uri + " is not one");
    }
    KEYFENCE_TRY_ASSIGN(signer, key_certificate(match));
    // An ECDSA hash at least as long as the curve's order (RFC 5480 §4; gpgsm refuses less).
    std::string hash = options.hash;
    if (hash.empty()) {
        const bool ec = match.key.algorithm == p11::KeyAlgorithm::Ec;
        hash = !ec || match.key.bits <= 256 ? "sha256"
               : match.key.bits <= 384      ? "sha384"
                                            : "sha512";
    }
    std::vector<base::X509Ptr> chain;
    if (!options.chain.empty()) {
        KEYFENCE_TRY_ASSIGN(loaded, mail::smime::load_certificates(options.chain));
        chain = std::move(loaded);
    }
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    KEYFENCE_TRY_ASSIGN(input, base::read_all(options.in));
    KEYFENCE_TRY_ASSIGN(prepared,
                        mail::smime::prepare_signature(
                            input, {.opaque = options.opaque, .pss = options.pss, .hash = hash}));

    engine::OperationRequest request = smime_request(engine::Operation::Sign, options.key_uri,
                                                     prepared.message.headers(), prepared.sha256);
    request.hash = hash;
    request.content_digest = base::to_hex(prepared.digest);
    request.padding =
        options.pss ? token::pkcs11::SignPadding::Pss : token::pkcs11::SignPadding::Pkcs1v15;
    request.summary.emplace_back("Signed content",
                                 std::to_string(prepared.content.size()) + " bytes, " +
                                     (options.opaque ? "opaque" : "multipart/signed"));
    request.summary.emplace_back("SHA-256", base::to_hex(prepared.sha256));
    const token::pkcs11::KeyMatch recorded = match;
    KEYFENCE_TRY_ASSIGN(lease, engine->authorize(std::move(match), request));
    auto message = [&]() -> base::Result<std::string> {
        KEYFENCE_TRY_ASSIGN(key, smime_key(lease));
        return mail::smime::finish_signature(prepared, key, signer.get(), chain);
    }();
    // The record is written (fsync) before the signed message appears.
    KEYFENCE_TRY(record_operation(*engine, recorded, request,
                                  message ? base::Status{} : base::Status(message.error())));
    KEYFENCE_TRY(out.write(*message));
    return out.commit();
}
}  // namespace

void add_smime_sign_verify(CommandContext& context, CLI::App* smime) {
    auto sign = std::make_shared<SmimeSignOptions>();
    auto* cmd = smime->add_subcommand("sign", "Sign a message on the token (multipart/signed)");
    cmd->add_option("--key", sign->key_uri, "The key's PKCS#11 URI (see 'keyfence keys')")
        ->required();
    cmd->add_flag("--opaque", sign->opaque,
                  "application/pkcs7-mime signed-data instead of multipart/signed");
    cmd->add_flag("--pss", sign->pss, "RSA-PSS instead of PKCS#1 v1.5 (RSA keys)");
    cmd->add_option("--hash", sign->hash,
                    "sha256, sha384 or sha512 (default: sha256; sha384 for P-384, sha512 for "
                    "P-521)")
        ->check(CLI::IsMember({"sha256", "sha384", "sha512"}));
    cmd->add_option("--chain", sign->chain, "Intermediate certificates to include (PEM file)");
    cmd->add_option("--in", sign->in, "The message (default: standard input)");
    cmd->add_option("--out", sign->out, "Where to write the signed message (default: stdout)");
    context.on_chosen(cmd, sign, [](const GlobalOptions& g, const SmimeSignOptions& o) {
        return finish(smime_sign(g, o));
    });

    add_smime_verify(context, smime);
}

}  // namespace keyfence::cli
