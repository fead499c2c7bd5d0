#pragma once
// Keyfence's error model: a code chosen by what the caller should do next, the origin of the
// failure (PKCS#11, ISO 7816, PC/SC, OpenSSL, GPGME, ...), the raw code of that origin, the PIN
// tries left when known, and a context string that never holds a secret.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyfence::base {

/// What the caller should do next. Each code maps to one CLI exit code (cli/exit_codes.hpp).
enum class ErrorCode {
    VerifyFailed,    ///< A signature or check did not verify.
    Usage,           ///< The request itself is wrong (bad flag, bad URI syntax).
    PinIncorrect,    ///< The token rejected the PIN; one try was spent.
    PinLocked,       ///< The PIN is blocked; it must be unblocked (PUK, SO PIN, admin PIN).
    LastTryRefused,  ///< The lockout guard refused to spend the token's last PIN try.
    PinInvalid,      ///< The PIN was refused before any try was spent (length, characters).
    TokenAbsent,     ///< No matching token or reader.
    TokenRemoved,    ///< The token went away during the operation.
    KeyNotFound,     ///< No matching key.
    Ambiguous,       ///< More than one match where one was needed.
    Cancelled,       ///< The user cancelled (pinentry, confirmation).
    Unsupported,     ///< The token, key or module cannot do this.
    PolicyDenied,    ///< A policy rule refused the operation.
    BadInput,        ///< Malformed input data (message, file, response).
    Io,              ///< A file or stream could not be read or written.
    ModuleFailure,   ///< A PKCS#11 module or device failed.
    Internal,        ///< A bug or an unexpected library failure.
};

/// Where the failure came from; says how to read Error::raw.
enum class Origin { Keyfence, Pkcs11, Iso7816, Pcsc, OpenSsl, Gpgme, Assuan, System };

/// An error that crosses a module boundary. Never put a PIN or key material into any field.
struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string context;  ///< What happened, in words for a user.
    std::string hint;     ///< What the user can do about it (may be empty).
    Origin origin = Origin::Keyfence;
    std::uint64_t raw = 0;            ///< CKR_*, SW1SW2, SCARD_*, ERR_*, gpg_error_t, errno.
    std::string raw_name;             ///< The raw code's name from its origin's table.
    std::optional<int> retries_left;  ///< PIN tries left, when the token says.

    Error() = default;
    Error(ErrorCode c, std::string ctx, std::string hint_text = {})
        : code(c), context(std::move(ctx)), hint(std::move(hint_text)) {}

    /// Sets the origin, raw code and its name; returns *this for chaining.
    Error& from(Origin o, std::uint64_t raw_code, std::string name = {}) {
        origin = o;
        raw = raw_code;
        raw_name = std::move(name);
        return *this;
    }
    Error&& with_hint(std::string h) && {
        hint = std::move(h);
        return std::move(*this);
    }

    /// One line: "context (NAME)" or "context (origin 0x..)". The hint is not included.
    std::string message() const;
};

/// Stable snake_case name of a code ("pin_incorrect"), for JSON and logs.
std::string_view code_name(ErrorCode code);
std::string_view origin_name(Origin origin);

/// An Error from errno with the given context.
Error system_error(ErrorCode code, std::string context, int errno_value);

}  // namespace keyfence::base
