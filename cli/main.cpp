// keyfence: sign and decrypt with keys that never leave a hardware token.

#include <CLI/CLI.hpp>

#include <cstdio>

#include "base/logger.hpp"
#include "base/process_hardening.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"

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
    app.add_flag("--json", g.json, "Machine-readable output for tokens and keys");
    app.add_flag("-v,--verbose", g.verbose, "Log what Keyfence does to stderr");
}
}  // namespace

int main(int argc, char** argv) {
    if (auto hardened = keyfence::base::harden_process(); !hardened) {
        // The heap exists but could not be locked: PINs are still wiped, so warn and go on.
        report_error(hardened.error());
    }
    CLI::App app{k_description, "keyfence"};
    app.set_version_flag("--version", "keyfence 0.1.0");
    app.footer(std::string("\n") + exit_code_table() +
               "\nKeyfence never takes a PIN from a URI, an environment variable or the command "
               "line.\nDocumentation: README.md and docs/ in the source tree.");
    app.require_subcommand(1);
    // Global options may also follow the command ("keyfence sign --pin-fd 3 ...").
    app.fallthrough();
    GlobalOptions globals;
    add_globals(app, globals);

    app.add_subcommand("tokens", "List PKCS#11 tokens and their PIN state");

    KeysOptions keys;
    auto* keys_cmd = app.add_subcommand("keys", "List the keys on the tokens");
    keys_cmd->add_option("--token", keys.token_uri, "Only tokens matching this PKCS#11 URI");

    SignOptions sign;
    auto* sign_cmd = app.add_subcommand("sign", "Hash a file and sign the digest on the token");
    sign_cmd->add_option("--key", sign.key_uri, "The key's PKCS#11 URI (see 'keyfence keys')")
        ->required();
    sign_cmd->add_option("--hash", sign.hash, "sha256 (default), sha384 or sha512")
        ->check(CLI::IsMember({"sha256", "sha384", "sha512"}));
    sign_cmd->add_flag("--pss", sign.pss, "RSA-PSS instead of PKCS#1 v1.5 (RSA keys)");
    sign_cmd->add_option("--in", sign.in, "The file to sign (default: standard input)");
    sign_cmd->add_option("--out", sign.out, "Where to write the signature (default: stdout)");

    PubkeyOptions pubkey;
    auto* pubkey_cmd = app.add_subcommand("pubkey", "Write a key's public key as PEM");
    pubkey_cmd->add_option("--key", pubkey.key_uri, "The key's PKCS#11 URI")->required();
    pubkey_cmd->add_option("--out", pubkey.out, "Where to write it (default: stdout)");

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
        if (app.got_subcommand("tokens")) return run_tokens(globals);
        if (app.got_subcommand("keys")) return run_keys(globals, keys);
        if (app.got_subcommand("sign")) return run_sign(globals, sign);
        if (app.got_subcommand("pubkey")) return run_pubkey(globals, pubkey);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "keyfence: internal error: %s\n", e.what());
        return k_exit_failure;
    }
    return k_exit_usage;
}
