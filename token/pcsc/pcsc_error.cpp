#include "token/pcsc/pcsc_error.hpp"

#include <array>

namespace keyfence::token::pcsc {
namespace {
using base::ErrorCode;

constexpr std::array k_table = {
    ScardEntry{SCARD_F_INTERNAL_ERROR, "SCARD_F_INTERNAL_ERROR", "pcscd failed internally",
               ErrorCode::ModuleFailure},
    ScardEntry{SCARD_E_CANCELLED, "SCARD_E_CANCELLED", "the wait was cancelled",
               ErrorCode::Cancelled},
    ScardEntry{SCARD_E_INVALID_HANDLE, "SCARD_E_INVALID_HANDLE",
               "the card connection is no longer valid", ErrorCode::TokenRemoved},
    ScardEntry{SCARD_E_INVALID_PARAMETER, "SCARD_E_INVALID_PARAMETER", "pcscd rejected a parameter",
               ErrorCode::Internal},
    ScardEntry{SCARD_E_NO_MEMORY, "SCARD_E_NO_MEMORY", "pcscd ran out of memory",
               ErrorCode::ModuleFailure},
    ScardEntry{SCARD_E_INSUFFICIENT_BUFFER, "SCARD_E_INSUFFICIENT_BUFFER",
               "the card's answer was longer than expected", ErrorCode::BadInput},
    ScardEntry{SCARD_E_UNKNOWN_READER, "SCARD_E_UNKNOWN_READER",
               "the reader is not known (unplugged?)", ErrorCode::TokenAbsent},
    ScardEntry{SCARD_E_TIMEOUT, "SCARD_E_TIMEOUT", "the wait timed out", ErrorCode::Cancelled},
    ScardEntry{SCARD_E_SHARING_VIOLATION, "SCARD_E_SHARING_VIOLATION",
               "another program holds the card exclusively (scdaemon without pcsc-shared?)",
               ErrorCode::ModuleFailure},
    ScardEntry{SCARD_E_NO_SMARTCARD, "SCARD_E_NO_SMARTCARD", "no card is in the reader",
               ErrorCode::TokenAbsent},
    ScardEntry{SCARD_E_PROTO_MISMATCH, "SCARD_E_PROTO_MISMATCH",
               "the card does not speak the requested protocol", ErrorCode::Unsupported},
    ScardEntry{SCARD_E_NOT_READY, "SCARD_E_NOT_READY", "the reader or card is not ready",
               ErrorCode::ModuleFailure},
    ScardEntry{SCARD_E_INVALID_VALUE, "SCARD_E_INVALID_VALUE", "pcscd rejected a value",
               ErrorCode::Internal},
    ScardEntry{SCARD_F_COMM_ERROR, "SCARD_F_COMM_ERROR", "communication with pcscd failed",
               ErrorCode::ModuleFailure},
    ScardEntry{SCARD_F_UNKNOWN_ERROR, "SCARD_F_UNKNOWN_ERROR", "pcscd reported an unknown error",
               ErrorCode::ModuleFailure},
    ScardEntry{SCARD_E_NOT_TRANSACTED, "SCARD_E_NOT_TRANSACTED", "the card transaction failed",
               ErrorCode::ModuleFailure},
    ScardEntry{SCARD_E_READER_UNAVAILABLE, "SCARD_E_READER_UNAVAILABLE", "the reader went away",
               ErrorCode::TokenRemoved},
    ScardEntry{SCARD_E_NO_SERVICE, "SCARD_E_NO_SERVICE", "pcscd is not running",
               ErrorCode::TokenAbsent},
    ScardEntry{SCARD_E_SERVICE_STOPPED, "SCARD_E_SERVICE_STOPPED", "pcscd stopped",
               ErrorCode::TokenRemoved},
    ScardEntry{SCARD_E_NO_READERS_AVAILABLE, "SCARD_E_NO_READERS_AVAILABLE",
               "no smartcard reader is connected", ErrorCode::TokenAbsent},
    ScardEntry{SCARD_E_COMM_DATA_LOST, "SCARD_E_COMM_DATA_LOST",
               "data to or from the card was lost", ErrorCode::TokenRemoved},
    ScardEntry{SCARD_W_UNSUPPORTED_CARD, "SCARD_W_UNSUPPORTED_CARD",
               "the reader cannot talk to this card", ErrorCode::Unsupported},
    ScardEntry{SCARD_W_UNRESPONSIVE_CARD, "SCARD_W_UNRESPONSIVE_CARD", "the card does not respond",
               ErrorCode::TokenRemoved},
    ScardEntry{SCARD_W_UNPOWERED_CARD, "SCARD_W_UNPOWERED_CARD", "the card lost power",
               ErrorCode::TokenRemoved},
    ScardEntry{SCARD_W_RESET_CARD, "SCARD_W_RESET_CARD",
               "the card was reset; its PIN state is lost", ErrorCode::TokenRemoved},
    ScardEntry{SCARD_W_REMOVED_CARD, "SCARD_W_REMOVED_CARD", "the card was removed",
               ErrorCode::TokenRemoved},
};
constexpr ScardEntry k_unknown{0, "SCARD_UNKNOWN", "PC/SC reported an unknown error",
                               ErrorCode::ModuleFailure};
}  // namespace

const ScardEntry& scard_entry(LONG rv) noexcept {
    return base::find_code(k_table, rv, k_unknown);
}

base::Error pcsc_error(LONG rv, std::string_view context) {
    const ScardEntry& entry = scard_entry(rv);
    base::Error error = base::code_error(entry, &entry != &k_unknown, base::Origin::Pcsc,
                                         static_cast<std::uint32_t>(rv), "SCARD", context);
    if (entry.code == ErrorCode::TokenAbsent && rv == SCARD_E_NO_SERVICE) {
        error.hint = "start pcscd (systemctl start pcscd.socket) or check 'keyfence doctor'";
    }
    return error;
}

}  // namespace keyfence::token::pcsc
