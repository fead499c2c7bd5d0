#pragma once
// The commands. Each returns the process exit code (cli/exit_codes.hpp).

#include <string>

#include "cli/globals.hpp"

namespace keyfence::cli {

int run_tokens(const GlobalOptions& globals);

struct KeysOptions {
    std::string token_uri;
};
int run_keys(const GlobalOptions& globals, const KeysOptions& options);

struct SignOptions {
    std::string key_uri;
    std::string hash = "sha256";
    bool pss = false;
    std::string in = "-";
    std::string out = "-";
};
int run_sign(const GlobalOptions& globals, const SignOptions& options);

struct PubkeyOptions {
    std::string key_uri;
    std::string out = "-";
};
int run_pubkey(const GlobalOptions& globals, const PubkeyOptions& options);

struct CommandContext;
/// pgp setup|bind|card-keygen|import|sign|verify|encrypt|decrypt (cli/pgp_*_command.cpp).
void add_pgp_commands(CommandContext& context);

}  // namespace keyfence::cli
