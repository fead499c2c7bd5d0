// keyfence smime sign (verify: cli/smime_verify_command.cpp).

#include <cstdio>
#include <optional>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "base/logger.hpp"
#include "base/progress.hpp"
#include "cli/agent_client.hpp"
#include "cli/exit_codes.hpp"
#include "cli/mail_commands.hpp"
#include "cli/smime_delegates.hpp"
#include "cli/smime_report.hpp"  // add_smime_verify
#include "cli/smime_support.hpp"
#include "mail/smime/cert_store.hpp"
#include "mail/smime/certificate.hpp"
#include "mail/smime/delegated_key.hpp"
#include "mail/smime/sign.hpp"
#include "mail/smime/stream_sign.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;

namespace {
mail::smime::ProgressFn progress_of(base::Progress& progress) {
    return [&progress](std::uint64_t done, std::uint64_t) { progress.update(done); };
}

engine::OperationRequest sign_request(const SmimeSignOptions& options, const std::string& hash,
                                      const mail::mime::MessageHeaders& headers,
                                      const std::vector<std::uint8_t>& digest,
                                      const std::vector<std::uint8_t>& sha256, std::uint64_t size) {
    engine::OperationRequest request =
        smime_request(engine::Operation::Sign, options.key_uri, headers, sha256);
    request.hash = hash;
    request.content_digest = base::to_hex(digest);
    request.padding =
        options.pss ? token::pkcs11::SignPadding::Pss : token::pkcs11::SignPadding::Pkcs1v15;
    request.summary.emplace_back(
        "Signed content",
        std::to_string(size) + " bytes, " + (options.opaque ? "opaque" : "multipart/signed"));
    request.summary.emplace_back("SHA-256", base::to_hex(sha256));
    return request;
}

// Authorizes the one private-key operation (policy, PIN), runs `sign` with the token's key and
// writes the audit record (fsync) before any output can appear.
template <class Sign>
auto sign_on_token(engine::Engine& engine, p11::KeyMatch match,
                   const engine::OperationRequest& request, Sign sign)
    -> decltype(sign(static_cast<EVP_PKEY*>(nullptr))) {
    const p11::KeyMatch recorded = match;
    KEYFENCE_TRY_ASSIGN(lease, engine.authorize(std::move(match), request));
    auto result = [&]() -> decltype(sign(static_cast<EVP_PKEY*>(nullptr))) {
        if (lease.key().always_authenticate) {
            // A key that wants its PIN again for every signature (CKA_ALWAYS_AUTHENTICATE)
            // signs through the lease, which logs in for the operation with the PIN already
            // given (one PIN entry); libp11's EVP_PKEY would ask its own UI.
            mail::smime::KeyDelegate delegate = lease_delegate(lease);
            KEYFENCE_TRY_ASSIGN(key, mail::smime::delegated_key(lease.public_key(), &delegate));
            auto signed_with = sign(key.get());
            if (!signed_with && delegate.failure) return *delegate.failure;
            return signed_with;
        }
        KEYFENCE_TRY_ASSIGN(key, smime_key(lease));
        return sign(key);
    }();
    KEYFENCE_TRY(record_operation(engine, recorded, request,
                                  result ? base::Status{} : base::Status(result.error())));
    return result;
}

// Through the agent when one runs: this process does all the CMS work and sends the agent the
// digest of the signed attributes, with the message's summary for the prompt; the agent asks
// for the PIN (or uses its PIN session), signs and writes the audit record. In-process when
// there is no agent, with --no-agent, or when the agent sends the command back.
template <class Sign>
auto sign_smime(const GlobalOptions& globals, engine::Engine& engine, p11::KeyMatch match,
                X509* certificate, const engine::OperationRequest& request, Sign sign)
    -> decltype(sign(static_cast<EVP_PKEY*>(nullptr))) {
    if (auto agent = connect_agent(globals)) {
        bool fallback = false;
        auto pins = make_pin_source(globals);
        mail::smime::KeyDelegate delegate =
            agent_delegate(*agent, globals, request, pins.get(), &fallback);
        KEYFENCE_TRY_ASSIGN(key,
                            mail::smime::delegated_key(X509_get0_pubkey(certificate), &delegate));
        auto result = sign(key.get());
        if (result) return result;
        if (!fallback) {
            if (delegate.failure) return *delegate.failure;
            return result;
        }
        base::log_debug("the agent has other modules; signing in-process");
    }
    return sign_on_token(engine, std::move(match), request, std::move(sign));
}

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
    // The signed message is as large as the input: written by a thread of its own, beside
    // hashing (docs/smime.md, "Large messages").
    out.start_write_behind();
    const mail::smime::SignOptions sign_options{
        .opaque = options.opaque, .pss = options.pss, .hash = hash};
    // multipart/signed and opaque signed-data stream from file to file in constant memory.
    KEYFENCE_TRY_ASSIGN(input, mail::smime::open_input(options.in));
    base::Progress hashing("Hashing", input.size);
    // The output's head and the signed content go to the output's temporary file as they are
    // hashed; they appear only after the token signed (AtomicOutput::commit).
    auto write = [&](std::string_view bytes) { return out.write(bytes); };
    KEYFENCE_TRY_ASSIGN(prepared, mail::smime::prepare_file_signature(input.path, sign_options,
                                                                      write, progress_of(hashing)));
    auto request = sign_request(options, hash, prepared.message.headers(), prepared.digest,
                                prepared.sha256, prepared.content_size);
    KEYFENCE_TRY_ASSIGN(done, sign_smime(globals, *engine, std::move(match), signer.get(), request,
                                         [&](EVP_PKEY* key) -> base::Result<bool> {
                                             KEYFENCE_TRY(mail::smime::finish_file_signature(
                                                 prepared, key, signer.get(), chain, write));
                                             return true;
                                         }));
    (void)done;
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

base::Status run_smime_sign(const GlobalOptions& globals, const SmimeSignOptions& options) {
    return smime_sign(globals, options);
}

}  // namespace keyfence::cli
