// The card's state file: a versioned, line-based text format (see README.md, "State
// file"). Private keys are stored as unencrypted PKCS#8 PEM: this is a test card.
#pragma once

#include "card_state.hpp"

#include <optional>
#include <string>

namespace keyfence::vcard {

inline constexpr int k_state_format_version = 1;

/// Serializes the state to the text format.
std::string serialize_state(const CardState& state);

/// Result of parsing: the state, or an error message naming the line.
struct StateParseResult {
    std::optional<CardState> state;
    std::string error;
};

/// Parses the text format; rejects unknown versions, unknown keys and bad values.
StateParseResult parse_state(const std::string& text);

/// Reads and parses `path`.
StateParseResult load_state_file(const std::string& path);

/// Writes `path` atomically: temp file in the same directory, fsync, rename, fsync of the
/// directory. Returns an error message, empty on success. The file is mode 0600.
std::string save_state_file(const std::string& path, const CardState& state);

}  // namespace keyfence::vcard
