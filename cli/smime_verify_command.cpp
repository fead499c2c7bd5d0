// keyfence smime verify: strict verification (docs/smime.md), optionally as of a past time.

#include <cstdio>
#include <ctime>
#include <optional>

#include "base/atomic_output.hpp"
#include "cli/exit_codes.hpp"
#include "cli/mail_commands.hpp"
#include "cli/smime_report.hpp"
#include "cli/smime_support.hpp"
#include "cli/time_option.hpp"
#include "cli/verified_output.hpp"
#include "mail/smime/cert_store.hpp"
#include "mail/smime/stream_io.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::cli {
namespace {

// Signers whose signature verified, chain and From: included, go to the certificate store, so
// that a reply can be encrypted to them (`smime encrypt --to ADDRESS`).
void remember_signers(const mail::smime::VerifyResult& result) {
    auto store = mail::smime::CertStore::user_store();
    if (!store) return;
    for (const auto& s : result.signers) {
        if (s.cert) (void)store->add(s.cert.get());
    }
}

int smime_verify(const GlobalOptions& globals, const SmimeVerifyOptions& options) {
    mail::smime::VerifyOptions verify{
        .ca_files = options.ca_files, .untrusted_files = options.chain_files, .at = std::nullopt};
    if (!options.at.empty()) {
        auto at = parse_time(options.at);
        if (!at) return finish(at.error());
        verify.at = *at;
    }
    auto input = mail::smime::open_input(options.in);
    if (!input) return finish(input.error());
    // The signed content streams to the output's temporary file as it is verified, and appears
    // only when it verified (a multipart/signed message is verified in constant memory).
    auto out = VerifiedOutput::open(options.out);
    if (!out) return finish(out.error());
    const mail::smime::ContentSink content = out->sink();
    auto result = mail::smime::verify_message_file(input->path, verify, content);
    if (!result) return finish(result.error());
    // The report goes to stdout unless the signed content does.
    std::FILE* report = options.out == "-" ? stderr : stdout;
    const std::string text =
        globals.json
            ? verify_json(*result).dump(2, ' ', true, nlohmann::json::error_handler_t::replace) +
                  "\n"
            : verify_text(*result);
    std::fputs(text.c_str(), report);
    if (!result->verified()) return k_exit_not_verified;
    // Archived mail verified as of the past says nothing about the certificate today.
    if (!verify.at) remember_signers(*result);
    return finish(out->commit());
}
}  // namespace

void add_smime_verify(CommandContext& context, CLI::App* smime) {
    auto verify = std::make_shared<SmimeVerifyOptions>();
    auto* v = smime->add_subcommand(
        "verify", "Verify a signed message: whole body signed, signature, chain, From: binding");
    v->add_option("--ca", verify->ca_files,
                  "Trust these CA certificates (PEM; repeatable) instead of the system store");
    v->add_option("--chain", verify->chain_files,
                  "Intermediate CA certificates (PEM; repeatable) to build chains; not trusted");
    v->add_option("--at", verify->at,
                  "Verify as of this time: 2020-06-01, 2020-06-01T12:00:00Z or @EPOCH");
    v->add_option("--in", verify->in, "The message (default: standard input)");
    v->add_option("--out", verify->out,
                  "Write the signed content (only it) here when it verified ('-': stdout)");
    context.on_chosen(v, verify, smime_verify);
}

int run_smime_verify(const GlobalOptions& globals, const SmimeVerifyOptions& options) {
    return smime_verify(globals, options);
}

}  // namespace keyfence::cli
