#pragma once
// Running GnuPG's helper programs (gpgconf, gpg-connect-agent) for what GPGME has no call for:
// stopping the daemons of a home, and asking the agent to learn a token's keys.

#include <string>
#include <vector>

#include "base/result.hpp"

namespace keyfence::mail::pgp {

/// Runs `argv` (argv[0] looked up on PATH) with stdin from /dev/null and stderr discarded, and
/// returns its standard output. Errors: Io when it cannot be run or, unless `any_exit`, when it
/// exits non-zero (with `any_exit`, what it wrote before failing is returned).
base::Result<std::string> run_tool(const std::vector<std::string>& argv, bool any_exit = false);

/// As run_tool(), with standard input read from `stdin_fd` (from its current offset) instead
/// of /dev/null: the program reads a file directly, with no copy through this process.
base::Result<std::string> run_tool_reading(const std::vector<std::string>& argv, int stdin_fd);

}  // namespace keyfence::mail::pgp
