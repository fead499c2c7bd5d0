#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keyfence::base {

/// Lowercase hex of `bytes`, with an optional separator between bytes.
std::string to_hex(std::span<const std::uint8_t> bytes, std::string_view separator = {});
/// Parses hex (upper or lower case, optional ':' separators); nullopt on any other character.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text);

}  // namespace keyfence::base
