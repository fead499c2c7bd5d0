#pragma once
// Options shared by every command, and building the engine from them.

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"

namespace keyfence::cli {

struct GlobalOptions {
    std::vector<std::string> modules;
    bool no_p11_kit = false;
    int pin_fd = -1;
    std::string pinentry = "pinentry";
    bool json = false;
    bool allow_last_pin_try = false;
    bool demo = false;
    bool verbose = false;
    bool no_agent = false;          ///< --no-agent: work in-process even when keyfenced runs
    bool assume_confirmed = false;  ///< --assume-confirmed: with --pin-fd, confirm operations
};

/// The PIN source the options choose: --pin-fd (with --assume-confirmed), else pinentry.
std::unique_ptr<token::PinSource> make_pin_source(const GlobalOptions& options);

/// The engine for this run, with the PIN source the options choose (--pin-fd, else pinentry).
std::unique_ptr<engine::Engine> make_engine(const GlobalOptions& options);

/// Prints module load failures as warnings (text mode).
void warn_module_failures(const std::vector<token::pkcs11::ModuleFailure>& failures);

}  // namespace keyfence::cli
