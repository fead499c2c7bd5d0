#include "cli/exit_codes.hpp"

#include <cstdio>

#include "base/logger.hpp"

namespace keyfence::cli {

int exit_code_for(const base::Error& error) {
    using base::ErrorCode;
    switch (error.code) {
        case ErrorCode::VerifyFailed:
            return k_exit_not_verified;
        case ErrorCode::Usage:
            return k_exit_usage;
        case ErrorCode::PinIncorrect:
            return k_exit_wrong_pin;
        case ErrorCode::PinLocked:
        case ErrorCode::LastTryRefused:
            return k_exit_pin_locked;
        case ErrorCode::TokenAbsent:
        case ErrorCode::TokenRemoved:
        case ErrorCode::KeyNotFound:
        case ErrorCode::Ambiguous:
            return k_exit_not_found;
        case ErrorCode::PolicyDenied:
            return k_exit_policy;
        case ErrorCode::BadInput:
            return k_exit_bad_input;
        case ErrorCode::PinInvalid:
        case ErrorCode::Cancelled:
        case ErrorCode::Unsupported:
        case ErrorCode::Io:
        case ErrorCode::ModuleFailure:
        case ErrorCode::Internal:
            return k_exit_failure;
    }
    return k_exit_failure;
}

const char* exit_code_table() {
    return "Exit codes:\n"
           "  0  success\n"
           "  1  a signature or check did not verify\n"
           "  2  usage error\n"
           "  3  wrong PIN (one try was spent)\n"
           "  4  PIN locked, or refused by the lockout guard (last try)\n"
           "  5  token or key not found, ambiguous, or removed\n"
           "  6  refused by policy\n"
           "  7  malformed input, or beyond a limit of docs/limits.md\n"
           "  8  any other failure (module, I/O, cancelled, unsupported)\n";
}

void report_error(const base::Error& error) {
    const std::string text = base::redact(error.message());
    std::fprintf(stderr, "keyfence: %s\n", text.c_str());
    if (!error.hint.empty()) {
        std::fprintf(stderr, "  what to do: %s\n", base::redact(error.hint).c_str());
    }
}

}  // namespace keyfence::cli
