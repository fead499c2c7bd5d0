// keyfence pgp encrypt | decrypt.

#include <cstdio>
#include <optional>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "cli/exit_codes.hpp"
#include "cli/mail_commands.hpp"
#include "cli/pgp_report.hpp"
#include "cli/pgp_support.hpp"
#include "cli/smime_support.hpp"
#include "engine/policy/rules.hpp"
#include "mail/pgp/decrypt.hpp"
#include "mail/pgp/encrypt.hpp"
#include "mail/pgp/recipients.hpp"

namespace keyfence::cli {
namespace pgp = mail::pgp;

namespace {
// The recipients' keys, and the sender's own so that sent mail stays readable.
base::Result<std::vector<mail::GpgmeKeyPtr>> recipient_keys(pgp::Context& ctx,
                                                            const PgpEncryptOptions& options,
                                                            const std::string& sender) {
    std::vector<mail::GpgmeKeyPtr> keys;
    for (const auto& to : options.to) {
        KEYFENCE_TRY_ASSIGN(key, pgp::find_key(ctx, to, pgp::KeyUse::Encrypt, false));
        keys.push_back(std::move(key));
    }
    auto own = pgp::find_key(ctx, sender, pgp::KeyUse::Encrypt, false);
    if (own) {
        keys.push_back(std::move(*own));
    } else if (!options.key.empty()) {
        return std::move(own).error();
    } else {
        std::fprintf(stderr,
                     "keyfence: warning: no key of the sender (%s); the sent copy cannot be "
                     "read by the sender\n",
                     sender.c_str());
    }
    return keys;
}

// algorithms.openpgp_integrity: "aead" cannot be met by the GnuPG 2.2 Keyfence runs with.
base::Status check_integrity_policy(engine::Engine& engine) {
    KEYFENCE_TRY_ASSIGN(policy, engine.policy());
    if (auto refusal = engine::policy::check_openpgp_integrity(*policy)) return refusal->error;
    return {};
}

base::Status pgp_encrypt(const GlobalOptions& globals, const PgpEncryptOptions& options) {
    KEYFENCE_TRY(check_integrity_policy(*make_engine(globals)));
    KEYFENCE_TRY_ASSIGN(ctx, open_home(options.homedir));
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    // Constant memory whatever the size (docs/pgp.md, "Large messages").
    KEYFENCE_TRY_ASSIGN(input, mail::smime::open_input(options.in));
    std::optional<pgp::PreparedFile> prepared;
    {
        base::Progress preparing("Preparing", input.size);
        KEYFENCE_TRY_ASSIGN(p, pgp::prepare_file_content(input.path, progress_of(preparing)));
        prepared.emplace(std::move(p));
    }
    const auto& from = prepared->message.headers().from_addresses;
    const std::string sender = !options.key.empty() ? options.key
                               : from.size() == 1   ? from.front()
                                                    : std::string();
    if (options.sign && sender.empty()) {
        return base::Error(base::ErrorCode::Usage,
                           "--sign needs the sender's key: give --key or a single From: address");
    }
    KEYFENCE_TRY_ASSIGN(keys, recipient_keys(ctx, options, sender));
    std::vector<gpgme_key_t> raw;
    for (const auto& k : keys) raw.push_back(k.get());
    auto write = [&](std::string_view bytes) { return out.write(bytes); };
    auto encrypt = [&](gpgme_key_t signer) {
        base::Progress encrypting("Encrypting", prepared->content_size);
        return pgp::finish_file_encryption(ctx, *prepared, raw, signer, write,
                                           progress_of(encrypting));
    };
    if (!options.sign) {
        KEYFENCE_TRY(encrypt(nullptr));
    } else {
        auto engine = make_engine(globals);
        KEYFENCE_TRY_ASSIGN(signer, pgp::find_key(ctx, sender, pgp::KeyUse::Sign, true));
        const auto info = pgp::describe(signer.get(), pgp::KeyUse::Sign);
        KEYFENCE_TRY_ASSIGN(token_key, token_key_for(*engine, ctx.homedir(), info));
        auto request = pgp_request(engine::Operation::Sign, token_key.match,
                                   &prepared->message.headers(), prepared->sha256);
        request.summary.emplace_back("OpenPGP key", info.fingerprint);
        request.summary.emplace_back("Signed and encrypted content",
                                     std::to_string(prepared->content_size) + " bytes");
        request.summary.emplace_back("SHA-256", base::to_hex(prepared->sha256));
        KEYFENCE_TRY(
            run_private_operation(globals, *engine, ctx, token_key, request,
                                  [&]() -> base::Status { return encrypt(signer.get()); }));
    }
    return out.commit();
}

base::Result<pgp::DecryptResult> pgp_decrypt(const GlobalOptions& globals,
                                             const PgpDecryptOptions& options,
                                             base::AtomicOutput& out) {
    auto engine = make_engine(globals);
    KEYFENCE_TRY(check_integrity_policy(*engine));
    KEYFENCE_TRY_ASSIGN(ctx, open_home(options.homedir));
    KEYFENCE_TRY_ASSIGN(input, mail::smime::open_input(options.in));
    std::optional<pgp::PreparedFileDecryption> prepared;
    {
        base::Progress preparing("Preparing", input.size);
        KEYFENCE_TRY_ASSIGN(
            p, pgp::prepare_file_decryption(input.path, ctx.homedir(), progress_of(preparing)));
        prepared.emplace(std::move(p));
    }
    // The token key gpg will use, known before any PIN: the message's recipients (never a
    // hidden one, for which gpg would try every secret key) matched to the home's keys.
    KEYFENCE_TRY_ASSIGN(recipients, pgp::prepared_recipients(ctx.homedir(), *prepared));
    for (const auto& id : recipients) {
        if (pgp::is_hidden_recipient(id)) {
            return base::Error(base::ErrorCode::Unsupported,
                               "the message hides its recipients (gpg --throw-keyids): Keyfence "
                               "cannot tell which token key would decrypt it, and does not let "
                               "gpg try them all");
        }
    }
    KEYFENCE_TRY_ASSIGN(found, pgp::find_recipient_key(ctx, options.key, recipients));
    const auto info = pgp::describe(found.first.get(), pgp::KeyUse::Encrypt, found.second);
    KEYFENCE_TRY_ASSIGN(token_key, token_key_for(*engine, ctx.homedir(), info));
    auto request = pgp_request(engine::Operation::Decrypt, token_key.match,
                               &prepared->message.headers(), prepared->sha256);
    request.summary.emplace_back("OpenPGP key", info.fingerprint);
    request.summary.emplace_back("Encrypted content", std::to_string(prepared->ciphertext_size) +
                                                          " bytes, " + prepared->format);
    request.summary.emplace_back("SHA-256", base::to_hex(prepared->sha256));
    std::optional<pgp::DecryptResult> result;
    // The plaintext streams out as gpg writes it: the copy into the page cache on its own thread.
    out.start_write_behind();
    KEYFENCE_TRY(
        run_private_operation(globals, *engine, ctx, token_key, request, [&]() -> base::Status {
            base::Progress decrypting("Decrypting", prepared->ciphertext_size);
            auto write = [&](std::string_view bytes) { return out.write(bytes); };
            KEYFENCE_TRY_ASSIGN(decrypted, pgp::finish_file_decryption(ctx, *prepared, write,
                                                                       progress_of(decrypting)));
            result = std::move(decrypted);
            return {};
        }));
    return std::move(*result);
}

int pgp_decrypt_command(const GlobalOptions& globals, const PgpDecryptOptions& options,
                        DecryptOutcome* outcome = nullptr) {
    auto out = base::AtomicOutput::open(options.out);
    if (!out) return finish(out.error());
    auto result = pgp_decrypt(globals, options, *out);
    if (!result) return finish(result.error());
    if (auto committed = out->commit(); !committed) return finish(committed);
    std::FILE* report = options.out == "-" ? stderr : stdout;
    const std::string text = globals.json
                                 ? pgp_decrypt_json(*result).dump(
                                       2, ' ', true, nlohmann::json::error_handler_t::replace) +
                                       "\n"
                                 : pgp_decrypt_text(*result);
    std::fputs(text.c_str(), report);
    if (outcome != nullptr) outcome->signature_inside = result->signature.has_value();
    if (result->signature && !result->signature->verified()) return k_exit_not_verified;
    return k_exit_ok;
}
}  // namespace

void add_pgp_encrypt_decrypt(CommandContext& context, CLI::App* pgp_app) {
    auto encrypt = std::make_shared<PgpEncryptOptions>();
    auto* e = pgp_app->add_subcommand(
        "encrypt", "Encrypt a message (RFC 3156 multipart/encrypted); --sign signs it too");
    add_homedir_option(e, encrypt->homedir);
    e->add_option("--to", encrypt->to, "A recipient: fingerprint or address (repeatable)")
        ->required();
    e->add_option("--key", encrypt->key,
                  "The sender's key (default: by the From: address); sent mail is encrypted to "
                  "it too");
    e->add_flag("--sign", encrypt->sign, "Sign with the sender's token key in the same pass");
    e->add_option("--in", encrypt->in, "The message (default: standard input)");
    e->add_option("--out", encrypt->out, "Where to write the encrypted message (default: stdout)");
    context.on_chosen(e, encrypt, [](const GlobalOptions& g, const PgpEncryptOptions& o) {
        return finish(pgp_encrypt(g, o));
    });

    auto decrypt = std::make_shared<PgpDecryptOptions>();
    auto* d = pgp_app->add_subcommand(
        "decrypt", "Decrypt a PGP/MIME or inline PGP message on the token; verifies a signature");
    add_homedir_option(d, decrypt->homedir);
    d->add_option("--key", decrypt->key,
                  "The token key: fingerprint or address (default: the one the message is for)");
    d->add_option("--in", decrypt->in, "The message (default: standard input)");
    d->add_option("--out", decrypt->out, "Where to write the decrypted message (default: stdout)");
    context.on_chosen(d, decrypt, [](const GlobalOptions& g, const PgpDecryptOptions& o) {
        return pgp_decrypt_command(g, o);
    });
}

base::Status run_pgp_encrypt(const GlobalOptions& globals, const PgpEncryptOptions& options) {
    return pgp_encrypt(globals, options);
}
int run_pgp_decrypt(const GlobalOptions& globals, const PgpDecryptOptions& options,
                    DecryptOutcome* outcome) {
    return pgp_decrypt_command(globals, options, outcome);
}

}  // namespace keyfence::cli
