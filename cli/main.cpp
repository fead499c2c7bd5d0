// keyfence: sign and decrypt with keys that never leave a hardware token.

#include <CLI/CLI.hpp>

#include <cstdio>

#include "base/logger.hpp"
#include "base/process_hardening.hpp"
#include "cli/command.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/version.hpp"

namespace {
using namespace keyfence::cli;

constexpr const char* k_description =
    "Keyfence signs and decrypts with private keys that never leave a hardware token\n"
    "(smartcards, YubiKeys, PIV/CAC and OpenPGP cards, any PKCS#11 token). Every\n"
    "private-key operation happens on the token, behind its PIN.";

void add_globals(CLI::App& app, GlobalOptions& g) {
    app.add_option("--module", g.modules,
                   "Load this PKCS#11 module too (repeatable); modules registered with p11-kit "
                   "are always loaded");
    app.add_flag("--no-p11-kit", g.no_p11_kit, "Load only the modules named with --module");
    app.add_option("--pin-fd", g.pin_fd,
                   "Read the PIN, one line, from this file descriptor instead of pinentry")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--pinentry", g.pinentry, "The pinentry program to run (default: pinentry)");
    app.add_flag("--allow-last-pin-try", g.allow_last_pin_try,
                 "Allow a login when the token has one PIN try left (a wrong PIN locks it)");
    app.add_flag("--demo", g.demo, "Allow Keyfence's software demo token (./scripts/demo)");
    app.add_flag("--json", g.json,
                 "Machine-readable output for tokens, keys, policy show and audit");
    app.add_flag("-v,--verbose", g.verbose, "Log what Keyfence does to stderr");
    app.add_flag("--no-agent", g.no_agent,
                 "Work in-process even when the agent (keyfenced) is running");
    app.add_flag("--assume-confirmed", g.assume_confirmed,
                 "With --pin-fd: count each operation as confirmed where the policy asks for a "
                 "confirmation (pin.confirm_each_operation); without it such operations are "
                 "refused");
}
}  // namespace

int main(int argc, char** argv) {
    if (auto hardened = keyfence::base::harden_process(); !hardened) {
        // The heap exists but could not be locked: PINs are still wiped, so warn and go on.
        report_error(hardened.error());
    }
    CLI::App app{k_description, "keyfence"};
    app.set_version_flag("--version", version_text());
    app.footer(std::string("\n") + exit_code_table() +
               "\nKeyfence never takes a PIN from a URI, an environment variable or the command "
               "line.\nDocumentation: README.md and docs/ in the source tree.");
    app.require_subcommand(1);
    // Global options may also follow the command ("keyfence sign --pin-fd 3 ...").
    app.fallthrough();
    GlobalOptions globals;
    add_globals(app, globals);

    std::function<int()> chosen;
    CommandContext context{app, globals, chosen};
    add_token_commands(context);
    add_sign_command(context);
    add_status_command(context);
    add_watch_command(context);
    add_doctor_command(context);
    add_policy_commands(context);
    add_audit_commands(context);
    add_smime_commands(context);
    add_certs_commands(context);
    add_lock_command(context);
    add_pgp_commands(context);
    add_mail_commands(context);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return k_exit_usage;
    }
    if (globals.verbose) keyfence::base::set_log_level(keyfence::base::LogLevel::Debug);

    try {
        if (chosen) return chosen();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "keyfence: internal error: %s\n", e.what());
        return k_exit_failure;
    }
    return k_exit_usage;
}
