#pragma once
// The documented exit codes, and the one place errors become them.

#include "base/error.hpp"

namespace keyfence::cli {

enum ExitCode : int {
    k_exit_ok = 0,            ///< success
    k_exit_not_verified = 1,  ///< a signature or check did not verify
    k_exit_usage = 2,         ///< usage error
    k_exit_wrong_pin = 3,     ///< wrong PIN
    k_exit_pin_locked = 4,    ///< PIN locked, or refused by the lockout guard
    k_exit_not_found = 5,     ///< token or key not found (or removed)
    k_exit_policy = 6,        ///< refused by policy
    k_exit_bad_input = 7,     ///< malformed input, or beyond a limit (docs/limits.md)
    k_exit_failure = 8,       ///< any other failure (module, I/O, cancelled)
};

/// The exit code for an error.
int exit_code_for(const base::Error& error);

/// The exit-code table as shown in --help and the README.
const char* exit_code_table();

/// Prints "keyfence: <message>" and "  what to do: <hint>" to stderr.
void report_error(const base::Error& error);

}  // namespace keyfence::cli
