// keyfence smime encrypt | decrypt.

#include <cstdio>
#include <filesystem>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "base/logger.hpp"
#include "base/progress.hpp"
#include "cli/agent_client.hpp"
#include "cli/exit_codes.hpp"
#include "cli/mail_commands.hpp"
#include "cli/smime_delegates.hpp"
#include "cli/smime_report.hpp"
#include "cli/smime_support.hpp"
#include "engine/policy/rules.hpp"
#include "mail/smime/cert_store.hpp"
#include "mail/smime/certificate.hpp"
#include "mail/smime/decrypt.hpp"
#include "mail/smime/encrypt.hpp"
#include "mail/smime/stream_decrypt.hpp"
#include "mail/smime/stream_encrypt.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;

namespace {
// A --to value: a certificate file, else an address looked up in the certificate store.
base::Status add_recipient(const std::string& to, std::vector<base::X509Ptr>& recipients) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(to, ec)) {
        KEYFENCE_TRY_ASSIGN(certs, mail::smime::load_certificates(to));
        for (auto& c : certs) recipients.push_back(std::move(c));
        return {};
    }
    if (to.find('@') == std::string::npos) {
        return base::Error(base::ErrorCode::Usage,
                           "--to " + to + " is neither a certificate file nor an address");
    }
    KEYFENCE_TRY_ASSIGN(store, mail::smime::CertStore::user_store());
    KEYFENCE_TRY_ASSIGN(cert, store.find_by_email(to));
    recipients.push_back(std::move(cert));
    return {};
}

base::Status smime_encrypt(const GlobalOptions& globals, const SmimeEncryptOptions& options) {
    {
        // The policy's content ciphers judge new mail before anything is read
        // (algorithms.smime_content_ciphers; a GCM-only policy refuses --legacy-cbc).
        auto engine = make_engine(globals);
        KEYFENCE_TRY_ASSIGN(policy, engine->policy());
        if (auto refusal = engine::policy::check_smime_cipher(
                *policy, options.legacy_cbc ? "aes-256-cbc" : "aes-256-gcm")) {
            return refusal->error;
        }
    }
    std::vector<base::X509Ptr> recipients;
    for (const auto& to : options.to) KEYFENCE_TRY(add_recipient(to, recipients));
    if (!options.key_uri.empty()) {
        // The sender's own certificate, so that sent mail stays readable. No PIN: encryption
        // uses public keys only.
        auto engine = make_engine(globals);
        warn_module_failures(engine->module_failures());
        KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
        KEYFENCE_TRY_ASSIGN(own, key_certificate(match));
        recipients.push_back(std::move(own));
    }
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    // From file to file in constant memory (docs/smime.md, "Large messages").
    KEYFENCE_TRY_ASSIGN(input, mail::smime::open_input(options.in));
    base::Progress progress("Encrypting", input.size);
    KEYFENCE_TRY(mail::smime::encrypt_file(
        input.path, recipients, {.legacy_cbc = options.legacy_cbc, .oaep = options.oaep},
        [&](std::string_view bytes) { return out.write(bytes); },
        [&](std::uint64_t done, std::uint64_t) { progress.update(done); }));
    return out.commit();
}

template <class Result>
void print_decrypt_report(const GlobalOptions& globals, const SmimeDecryptOptions& options,
                          const Result& result) {
    std::FILE* report = options.out == "-" ? stderr : stdout;
    if (globals.json) {
        nlohmann::json j = {{"decrypted", true},
                            {"structure", result.structure},
                            {"authenticated", result.authenticated},
                            {"signature", nullptr}};
        if (result.signature) j["signature"] = verify_json(*result.signature);
        std::fputs((j.dump(2) + "\n").c_str(), report);
        return;
    }
    std::string text = "Decrypted: " + result.structure;
    text += result.authenticated
                ? " (AES-GCM: the ciphertext was integrity-protected and checked)\n"
                : " (CBC: NOT integrity-protected; the content may have been altered in "
                  "transit, and only a signature inside could tell)\n";
    text += result.signature ? verify_text(*result.signature) : "Signature inside: none\n";
    std::fputs(text.c_str(), report);
}

int smime_decrypt(const GlobalOptions& globals, const SmimeDecryptOptions& options,
                  DecryptOutcome* outcome = nullptr) {
    auto out = base::AtomicOutput::open(options.out);
    if (!out) return finish(out.error());
    // From file to file in constant memory (docs/smime.md, "Large messages"); the output is
    // written to the temporary file and appears only when everything checked.
    using DecryptResult = base::Result<mail::smime::FileDecryptResult>;
    auto run = [&]() -> DecryptResult {
        auto engine = make_engine(globals);
        warn_module_failures(engine->module_failures());
        KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
        KEYFENCE_TRY_ASSIGN(cert, key_certificate(match));
        KEYFENCE_TRY_ASSIGN(input, mail::smime::open_input(options.in));
        base::Progress reading("Decoding", 0);  // decoded bytes: no total known
        // Refuses a message that is not for this key before the PIN is asked.
        KEYFENCE_TRY_ASSIGN(prepared,
                            mail::smime::prepare_file_decryption(
                                input.path, cert.get(),
                                [&](std::uint64_t done, std::uint64_t) { reading.update(done); }));
        // EC keys decrypt by deriving the ECDH secret on the token (RFC 5753).
        engine::OperationRequest request =
            smime_request(match.key.algorithm == p11::KeyAlgorithm::Ec ? engine::Operation::Derive
                                                                       : engine::Operation::Decrypt,
                          options.key_uri, prepared.message.headers(), prepared.sha256);
        request.summary.emplace_back("Encrypted content", std::to_string(prepared.encrypted_size) +
                                                              " bytes, " + prepared.structure);
        request.summary.emplace_back("SHA-256", base::to_hex(prepared.sha256));
        base::Progress writing("Writing", prepared.encrypted_size);
        auto finish_with = [&](EVP_PKEY* key) {
            return mail::smime::finish_file_decryption(
                prepared, key, cert.get(), {.ca_files = options.ca_files},
                [&](std::string_view bytes) { return out->write(bytes); },
                [&](std::uint64_t done, std::uint64_t) { writing.update(done); });
        };
        // A failure of the data stays the one "decryption failed" (Marvin); a refused PIN, a
        // cancelled prompt or a removed token keep their own errors and exit codes.
        auto finish_delegated = [&](mail::smime::KeyDelegate& delegate,
                                    EVP_PKEY* public_key) -> DecryptResult {
            KEYFENCE_TRY_ASSIGN(key, mail::smime::delegated_key(public_key, &delegate));
            auto decrypted = finish_with(key.get());
            if (decrypted) return decrypted;
            return mail::smime::delegated_error(delegate, std::move(decrypted).error());
        };
        // Through the agent when one runs (its PIN session, queue and audit log): the agent
        // unwraps the content key (or derives the ECDH secret), everything else happens here.
        if (auto agent = connect_agent(globals)) {
            bool fallback = false;
            auto pins = make_pin_source(globals);
            mail::smime::KeyDelegate delegate =
                agent_delegate(*agent, globals, request, pins.get(), &fallback);
            auto decrypted = finish_delegated(delegate, X509_get0_pubkey(cert.get()));
            if (decrypted || !fallback) return decrypted;
            base::log_debug("the agent has other modules; decrypting in-process");
        }
        const p11::KeyMatch recorded = match;
        KEYFENCE_TRY_ASSIGN(lease, engine->authorize(std::move(match), request));
        auto result = [&]() -> DecryptResult {
            if (lease.key().always_authenticate) {
                // The lease logs in for the one operation with the PIN already given.
                mail::smime::KeyDelegate delegate = lease_delegate(lease);
                return finish_delegated(delegate, lease.public_key());
            }
            KEYFENCE_TRY_ASSIGN(key, smime_key(lease));
            return finish_with(key);
        }();
        KEYFENCE_TRY(record_operation(*engine, recorded, request,
                                      result ? base::Status{} : base::Status(result.error())));
        return result;
    };
    auto result = run();
    if (!result) return finish(result.error());
    print_decrypt_report(globals, options, *result);
    if (outcome != nullptr) outcome->signature_inside = result->signature.has_value();
    // A signature inside that does not verify withholds the plaintext, as verify would.
    if (result->signature && !result->signature->verified()) return k_exit_not_verified;
    return finish(out->commit());
}
}  // namespace

void add_smime_encrypt_decrypt(CommandContext& context, CLI::App* smime) {
    auto encrypt = std::make_shared<SmimeEncryptOptions>();
    auto* e = smime->add_subcommand("encrypt", "Encrypt a message to certificates");
    e->add_option("--to", encrypt->to,
                  "A recipient: certificate file, or address in the certificate store "
                  "(repeatable)")
        ->required();
    e->add_option("--key", encrypt->key_uri,
                  "Also encrypt to this token key's certificate (yours), to read it later");
    e->add_flag("--legacy-cbc", encrypt->legacy_cbc,
                "EnvelopedData AES-256-CBC (no integrity) for clients that cannot read GCM");
    e->add_flag("--oaep", encrypt->oaep, "RSAES-OAEP (SHA-256) for RSA recipients");
    e->add_option("--in", encrypt->in, "The message (default: standard input)");
    e->add_option("--out", encrypt->out, "Where to write it (default: stdout)");
    context.on_chosen(e, encrypt, [](const GlobalOptions& g, const SmimeEncryptOptions& o) {
        return finish(smime_encrypt(g, o));
    });

    auto decrypt = std::make_shared<SmimeDecryptOptions>();
    auto* d = smime->add_subcommand("decrypt", "Decrypt a message on the token (and verify it)");
    d->add_option("--key", decrypt->key_uri, "The key's PKCS#11 URI (see 'keyfence keys')")
        ->required();
    d->add_option("--ca", decrypt->ca_files,
                  "Trust these CA certificates for a signature inside (PEM; repeatable)");
    d->add_option("--in", decrypt->in, "The message (default: standard input)");
    d->add_option("--out", decrypt->out, "Where to write the decrypted message (default: stdout)");
    context.on_chosen(d, decrypt, [](const GlobalOptions& g, const SmimeDecryptOptions& o) {
        return smime_decrypt(g, o);
    });
}

base::Status run_smime_encrypt(const GlobalOptions& globals, const SmimeEncryptOptions& options) {
    return smime_encrypt(globals, options);
}
int run_smime_decrypt(const GlobalOptions& globals, const SmimeDecryptOptions& options,
                      DecryptOutcome* outcome) {
    return smime_decrypt(globals, options, outcome);
}

}  // namespace keyfence::cli
