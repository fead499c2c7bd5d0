// keyfence smime verify: strict verification (docs/smime.md), optionally as of a past time.

#include <cstdio>
#include <ctime>
#include <optional>

#include "base/atomic_output.hpp"
#include "cli/exit_codes.hpp"
#include "cli/mail_commands.hpp"
#include "cli/smime_report.hpp"
#include "cli/smime_support.hpp"
#include "mail/smime/cert_store.hpp"
#include "mail/smime/stream_io.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::cli {
namespace {

// --at: "@EPOCH", "YYYY-MM-DD" (00:00 UTC), or "YYYY-MM-DDTHH:MM[:SS]" with "Z", "+HH:MM" or
// "-HH:MM" (none: UTC); a space may stand for the "T" (ISO 8601 / RFC 3339).
base::Result<std::int64_t> parse_time(const std::string& text) {
    const base::Error bad(base::ErrorCode::Usage, "--at: cannot read the time " + text,
                          "give 2020-06-01, 2020-06-01T12:00:00Z, 2020-06-01T14:00+02:00 or "
                          "@1590969600");
    if (!text.empty() && text[0] == '@') {
        char* end = nullptr;
        const long long v = std::strtoll(text.c_str() + 1, &end, 10);
        if (end == text.c_str() + 1 || *end != '\0') return bad;
        return static_cast<std::int64_t>(v);
    }
    struct tm tm {};
    int consumed = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &consumed) != 3) {
        return bad;
    }
    const char* rest = text.c_str() + consumed;
    long offset = 0;
    if (*rest == 'T' || *rest == 't' || *rest == ' ') {
        int n = 0;
        if (std::sscanf(rest + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2) return bad;
        rest += 1 + n;
        if (*rest == ':') {
            if (std::sscanf(rest + 1, "%2d%n", &tm.tm_sec, &n) != 1) return bad;
            rest += 1 + n;
        }
        if (*rest == 'Z' || *rest == 'z') {
            ++rest;
        } else if (*rest == '+' || *rest == '-') {
            int oh = 0, om = 0;
            if (std::sscanf(rest + 1, "%2d:%2d%n", &oh, &om, &n) != 2) return bad;
            offset = (*rest == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
            rest += 1 + n;
        }
    }
    if (*rest != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
        return bad;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

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
    std::optional<base::AtomicOutput> out;
    if (!options.out.empty()) {
        auto opened = base::AtomicOutput::open(options.out);
        if (!opened) return finish(opened.error());
        out.emplace(std::move(*opened));
    }
    base::Status written;
    mail::smime::ContentSink content;
    if (out) {
        content = [&](std::string_view bytes) {
            if (written) written = out->write(bytes);
        };
    }
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
    if (out) {
        if (!written) return finish(written);
        return finish(out->commit());
    }
    return k_exit_ok;
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
