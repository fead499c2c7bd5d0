// keyfence pgp sign | verify.

#include <cstdio>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "base/progress.hpp"
#include "cli/exit_codes.hpp"
#include "cli/mail_commands.hpp"
#include "cli/pgp_report.hpp"
#include "cli/pgp_support.hpp"
#include "cli/smime_support.hpp"
#include "cli/time_option.hpp"
#include "cli/verified_output.hpp"
#include "mail/pgp/one_pass_sign.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/verify.hpp"

namespace keyfence::cli {

namespace {
// The summary the prompt and the confirmation show, with the content's final size and SHA-256.
engine::OperationRequest sign_request(const TokenKey& token_key, const mail::pgp::KeyInfo& info,
                                      const mail::mime::MessageHeaders& headers, std::uint64_t size,
                                      const std::vector<std::uint8_t>& sha256) {
    auto request = pgp_request(engine::Operation::Sign, token_key.match, &headers, sha256);
    request.summary.emplace_back("OpenPGP key", info.fingerprint);
    request.summary.emplace_back("Signed content",
                                 std::to_string(size) + " bytes, PGP/MIME multipart/signed");
    request.summary.emplace_back("SHA-256", base::to_hex(sha256));
    return request;
}

// One pass over the message (mail/pgp/one_pass_sign.hpp): the body is written to the output
// and hashed as it is read; once the engine has admitted the signature with its final SHA-256,
// gpg-agent signs the digest.
base::Status sign_one_pass(const GlobalOptions& globals, engine::Engine& engine,
                           mail::pgp::Context& ctx, gpgme_key_t key, const mail::pgp::KeyInfo& info,
                           const TokenKey& token_key, const mail::smime::InputFile& input,
                           base::AtomicOutput& out) {
    // A message that is not one fails here, before the daemons are touched.
    KEYFENCE_TRY_ASSIGN(one, mail::pgp::OnePassSignature::open(input.path, key));
    // The signed message is as large as the input: written by a thread of its own, whole
    // blocks with O_DIRECT (base/atomic_output.hpp), beside this one (GMime, SHA-256).
    out.start_write_behind();
    {
        base::Progress signing("Signing", input.size);
        auto write = [&](std::string_view bytes) { return out.write(bytes); };
        KEYFENCE_TRY(one.stream(write, progress_of(signing)));
    }
    const auto request =
        sign_request(token_key, info, one.headers(), one.content_size(), one.sha256());
    return run_private_operation(globals, engine, ctx, token_key, request, [&]() -> base::Status {
        auto* answerer = mail::pgp::PassphraseAnswerer::installed_on(ctx.get());
        if (answerer == nullptr) {
            return base::Error(base::ErrorCode::Internal, "no PIN answerer for the operation");
        }
        auto done = one.finish(ctx.homedir(), *answerer);
        if (!done) return std::move(done).error();
        return {};
    });
}

base::Status pgp_sign(const GlobalOptions& globals, const PgpSignOptions& options) {
    auto engine = make_engine(globals);
    // Everything that can fail without the token fails before the PIN is asked.
    KEYFENCE_TRY_ASSIGN(ctx, open_home(options.homedir));
    KEYFENCE_TRY_ASSIGN(key, mail::pgp::find_key(ctx, options.key, mail::pgp::KeyUse::Sign, true));
    const auto info = mail::pgp::describe(key.get(), mail::pgp::KeyUse::Sign);
    KEYFENCE_TRY_ASSIGN(token_key, token_key_for(*engine, ctx.homedir(), info));
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    // Constant memory whatever the size (docs/pgp.md, "Large messages").
    KEYFENCE_TRY_ASSIGN(input, mail::smime::open_input(options.in));
    KEYFENCE_TRY(sign_one_pass(globals, *engine, ctx, key.get(), info, token_key, input, out));
    return out.commit();
}

int pgp_verify(const GlobalOptions& globals, const PgpVerifyOptions& options) {
    mail::pgp::VerifyOptions verify;
    if (!options.at.empty()) {
        auto at = parse_time(options.at);
        if (!at) return finish(at.error());
        verify.at = *at;
    }
    auto ctx = open_home(options.homedir);
    if (!ctx) return finish(ctx.error());
    auto input = mail::smime::open_input(options.in);
    if (!input) return finish(input.error());
    // The signed content streams to the output's temporary file as it is verified, and appears
    // only when it verified (a multipart/signed message is verified in constant memory).
    auto out = VerifiedOutput::open(options.out);
    if (!out) return finish(out.error());
    const mail::pgp::ContentSink content = out->sink();
    auto result = mail::pgp::verify_message_file(*ctx, input->path, verify, content);
    if (!result) return finish(result.error());
    // The report goes to stdout unless the signed content does. Strings from the message may
    // hold any bytes: JSON gets U+FFFD for invalid UTF-8 and escapes the rest.
    std::FILE* report = options.out == "-" ? stderr : stdout;
    const std::string text = globals.json
                                 ? pgp_verify_json(*result).dump(
                                       2, ' ', true, nlohmann::json::error_handler_t::replace) +
                                       "\n"
                                 : pgp_verify_text(*result);
    std::fputs(text.c_str(), report);
    if (!result->verified()) return k_exit_not_verified;
    return finish(out->commit());
}
}  // namespace

void add_pgp_sign_verify(CommandContext& context, CLI::App* pgp) {
    auto sign = std::make_shared<PgpSignOptions>();
    auto* s =
        pgp->add_subcommand("sign", "Sign a message on the token (RFC 3156 multipart/signed)");
    add_homedir_option(s, sign->homedir);
    s->add_option("--key", sign->key, "The OpenPGP key: fingerprint or address")->required();
    s->add_option("--in", sign->in, "The message (default: standard input)");
    s->add_option("--out", sign->out, "Where to write the signed message (default: stdout)");
    context.on_chosen(s, sign, [](const GlobalOptions& g, const PgpSignOptions& o) {
        return finish(pgp_sign(g, o));
    });

    auto verify = std::make_shared<PgpVerifyOptions>();
    auto* v = pgp->add_subcommand(
        "verify",
        "Verify a PGP/MIME or inline signed message: whole body signed, signature, key, From:");
    add_homedir_option(v, verify->homedir);
    v->add_option("--at", verify->at, k_at_help);
    v->add_option("--in", verify->in, "The message (default: standard input)");
    v->add_option("--out", verify->out,
                  "Write the signed content (only it) here when it verified ('-': stdout)");
    context.on_chosen(v, verify, pgp_verify);
}

base::Status run_pgp_sign(const GlobalOptions& globals, const PgpSignOptions& options) {
    return pgp_sign(globals, options);
}
int run_pgp_verify(const GlobalOptions& globals, const PgpVerifyOptions& options) {
    return pgp_verify(globals, options);
}

}  // namespace keyfence::cli
