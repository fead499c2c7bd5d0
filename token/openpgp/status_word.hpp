#pragma once
// ISO 7816-4 / OpenPGP card 3.4 §7.3 status words: a name, a description for users and the
// Keyfence error code that says what to do next. One table, status_word.cpp.

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.hpp"

namespace keyfence::token::openpgp {

struct StatusWord {
    std::uint16_t value;
    std::string_view name;
    std::string_view description;
    base::ErrorCode code;
};

constexpr std::uint16_t k_sw_ok = 0x9000;

/// The table entry for `sw`. 63Cx (wrong PIN, x tries left) and 61xx (more data) are families.
const StatusWord& status_word(std::uint16_t sw) noexcept;
/// x of 63Cx, the tries left after a failed VERIFY; nullopt for other words.
std::optional<int> tries_left_in(std::uint16_t sw) noexcept;
/// "<context>: <description>" with origin ISO 7816, raw SW1SW2 and its name.
base::Error card_error(std::uint16_t sw, std::string_view context);

}  // namespace keyfence::token::openpgp
