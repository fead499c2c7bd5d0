#pragma once
// How commands plug into the keyfence command line: each command file has one add_*()
// function that declares its subcommand and options. When the user picks it, the subcommand's
// callback stores what to run; main() runs it after parsing, when every global option is known.

#include <CLI/CLI.hpp>

#include <functional>

#include "cli/globals.hpp"

namespace keyfence::cli {

struct CommandContext {
    CLI::App& app;
    GlobalOptions& globals;
    std::function<int()>& chosen;  ///< set by the chosen subcommand; returns the exit code

    /// Declares `sub` to run `run(globals, *options)` when chosen.
    template <class Options, class Run>
    void on_chosen(CLI::App* sub, std::shared_ptr<Options> options, Run run) {
        sub->callback([this, options, run] {
            chosen = [this, options, run] { return run(globals, *options); };
        });
    }
};

void add_token_commands(CommandContext& context);   ///< tokens, keys, pubkey
void add_sign_command(CommandContext& context);     ///< sign
void add_status_command(CommandContext& context);   ///< status
void add_watch_command(CommandContext& context);    ///< watch
void add_doctor_command(CommandContext& context);   ///< doctor
void add_policy_commands(CommandContext& context);  ///< policy show, policy check
void add_audit_commands(CommandContext& context);   ///< audit verify, audit show
void add_smime_commands(CommandContext& context);   ///< smime sign|verify|encrypt|decrypt|...
void add_certs_commands(CommandContext& context);   ///< certs add|list|export
void add_mail_commands(CommandContext& context);    ///< mail protect|open
void add_lock_command(CommandContext& context);     ///< lock

}  // namespace keyfence::cli
