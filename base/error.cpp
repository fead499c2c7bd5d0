#include "base/error.hpp"

#include <cstring>
#include <sstream>

namespace keyfence::base {

std::string_view code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::VerifyFailed:
            return "verify_failed";
        case ErrorCode::Usage:
            return "usage";
        case ErrorCode::PinIncorrect:
            return "pin_incorrect";
        case ErrorCode::PinLocked:
            return "pin_locked";
        case ErrorCode::LastTryRefused:
            return "last_try_refused";
        case ErrorCode::PinInvalid:
            return "pin_invalid";
        case ErrorCode::TokenAbsent:
            return "token_absent";
        case ErrorCode::TokenRemoved:
            return "token_removed";
        case ErrorCode::KeyNotFound:
            return "key_not_found";
        case ErrorCode::Ambiguous:
            return "ambiguous";
        case ErrorCode::Cancelled:
            return "cancelled";
        case ErrorCode::Unsupported:
            return "unsupported";
        case ErrorCode::PolicyDenied:
            return "policy_denied";
        case ErrorCode::BadInput:
            return "bad_input";
        case ErrorCode::Io:
            return "io";
        case ErrorCode::ModuleFailure:
            return "module_failure";
        case ErrorCode::Internal:
            return "internal";
    }
    return "internal";
}

std::string_view origin_name(Origin origin) {
    switch (origin) {
        case Origin::Keyfence:
            return "keyfence";
        case Origin::Pkcs11:
            return "pkcs11";
        case Origin::Iso7816:
            return "iso7816";
        case Origin::Pcsc:
            return "pcsc";
        case Origin::OpenSsl:
            return "openssl";
        case Origin::Gpgme:
            return "gpgme";
        case Origin::Assuan:
            return "assuan";
        case Origin::System:
            return "system";
    }
    return "keyfence";
}

std::string Error::message() const {
    std::ostringstream out;
    out << context;
    if (origin == Origin::Keyfence) return out.str();
    if (!raw_name.empty()) {
        out << " (" << raw_name << ")";
    } else {
        out << " (" << origin_name(origin) << " 0x" << std::hex << raw << std::dec << ")";
    }
    return out.str();
}

Error system_error(ErrorCode code, std::string context, int errno_value) {
    Error e(code, std::move(context));
    e.from(Origin::System, static_cast<std::uint64_t>(errno_value), std::strerror(errno_value));
    return e;
}

}  // namespace keyfence::base
