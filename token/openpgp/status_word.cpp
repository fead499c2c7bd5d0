#include "token/openpgp/status_word.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

namespace keyfence::token::openpgp {
namespace {
using base::ErrorCode;

// OpenPGP card 3.4 §7.3 and ISO 7816-4 §5.1.3.
constexpr std::array k_table = {
    StatusWord{0x9000, "SW_OK", "success", ErrorCode::Internal},
    StatusWord{0x6285, "SW_TERMINATED",
               "the card's OpenPGP application is terminated (factory reset pending)",
               ErrorCode::PinLocked},
    StatusWord{0x6581, "SW_MEMORY_FAILURE", "the card's memory failed", ErrorCode::ModuleFailure},
    StatusWord{0x6600, "SW_SECURITY_ENVIRONMENT", "security-related issue on the card",
               ErrorCode::ModuleFailure},
    StatusWord{0x6700, "SW_WRONG_LENGTH", "the card rejected the command length",
               ErrorCode::BadInput},
    StatusWord{0x6881, "SW_LOGICAL_CHANNEL_UNSUPPORTED", "logical channels are not supported",
               ErrorCode::Unsupported},
    StatusWord{0x6882, "SW_SECURE_MESSAGING_UNSUPPORTED", "secure messaging is not supported",
               ErrorCode::Unsupported},
    StatusWord{0x6883, "SW_LAST_COMMAND_EXPECTED", "the card expected the last command of a chain",
               ErrorCode::Internal},
    StatusWord{0x6884, "SW_CHAINING_UNSUPPORTED", "the card does not support command chaining",
               ErrorCode::Unsupported},
    StatusWord{0x6982, "SW_SECURITY_STATUS", "the PIN was not accepted, or is needed first",
               ErrorCode::PinIncorrect},
    StatusWord{0x6983, "SW_PIN_BLOCKED", "the PIN is blocked", ErrorCode::PinLocked},
    StatusWord{0x6985, "SW_CONDITIONS_OF_USE", "the card's conditions of use are not satisfied",
               ErrorCode::PolicyDenied},
    StatusWord{0x6987, "SW_SM_DATA_MISSING", "secure messaging data missing",
               ErrorCode::Unsupported},
    StatusWord{0x6988, "SW_SM_DATA_INCORRECT", "secure messaging data incorrect",
               ErrorCode::Unsupported},
    StatusWord{0x6A80, "SW_WRONG_DATA", "the card rejected the data", ErrorCode::BadInput},
    StatusWord{0x6A82, "SW_NOT_FOUND", "the application or file is not on the card",
               ErrorCode::KeyNotFound},
    StatusWord{0x6A86, "SW_WRONG_P1P2", "the card rejected the parameters", ErrorCode::Unsupported},
    StatusWord{0x6A88, "SW_DATA_NOT_FOUND",
               "the card has no such data object (no key in that slot?)", ErrorCode::KeyNotFound},
    StatusWord{0x6B00, "SW_WRONG_P1P2_OFFSET", "wrong parameters", ErrorCode::Unsupported},
    StatusWord{0x6D00, "SW_INS_UNSUPPORTED", "the card does not know this command",
               ErrorCode::Unsupported},
    StatusWord{0x6E00, "SW_CLA_UNSUPPORTED", "the card does not support this class",
               ErrorCode::Unsupported},
    StatusWord{0x6F00, "SW_UNKNOWN", "the card reported an error without a diagnosis",
               ErrorCode::ModuleFailure},
};
constexpr StatusWord k_wrong_pin{0x63C0, "SW_WRONG_PIN", "the PIN was wrong",
                                 ErrorCode::PinIncorrect};
constexpr StatusWord k_more_data{0x6100, "SW_MORE_DATA", "more data is waiting",
                                 ErrorCode::Internal};
constexpr StatusWord k_unknown{0x0000, "SW_UNEXPECTED", "the card gave an unexpected status",
                               ErrorCode::ModuleFailure};
}  // namespace

const StatusWord& status_word(std::uint16_t sw) noexcept {
    if ((sw & 0xFFF0) == 0x63C0) return k_wrong_pin;
    if ((sw & 0xFF00) == 0x6100) return k_more_data;
    const auto* it = std::find_if(k_table.begin(), k_table.end(),
                                  [sw](const StatusWord& e) { return e.value == sw; });
    return it != k_table.end() ? *it : k_unknown;
}

std::optional<int> tries_left_in(std::uint16_t sw) noexcept {
    if ((sw & 0xFFF0) != 0x63C0) return std::nullopt;
    return sw & 0x0F;
}

base::Error card_error(std::uint16_t sw, std::string_view context) {
    const StatusWord& entry = status_word(sw);
    base::Error error(entry.code, std::string(context) + ": " + std::string(entry.description));
    char name[48];
    std::snprintf(name, sizeof name, "%.*s %04X", static_cast<int>(entry.name.size()),
                  entry.name.data(), sw);
    error.from(base::Origin::Iso7816, sw, name);
    error.retries_left = tries_left_in(sw);
    return error;
}

}  // namespace keyfence::token::openpgp
