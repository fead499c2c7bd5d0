#pragma once
// Bytes as text: hex and base64.
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
/// Base64 of `bytes` (RFC 4648 §4, padded), one line: no line ends.
std::string to_base64(std::string_view bytes);

}  // namespace keyfence::base
