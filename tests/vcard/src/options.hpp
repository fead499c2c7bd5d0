// Command line of keyfence-vcard.
#pragma once

#include "algorithm_attributes.hpp"
#include "faults.hpp"

#include <array>
#include <optional>
#include <string>

namespace keyfence::vcard {

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string state_path;  // empty: in-memory card (nothing persisted)
    bool init = false;
    std::optional<std::uint32_t> serial;
    std::optional<std::array<AlgorithmAttributes, 3>> key_attributes;  // used with a new state
    bool reconnect = false;
    unsigned reinsert_ms = 1000;
    unsigned connect_timeout_ms = 10000;
    std::string control_path;
    FaultPlan faults;
    bool verbose = false;
};

/// Parses argv. On error or --help returns empty and fills `message` (usage or error);
/// `exit_code` is 0 for --help and 2 for usage errors.
std::optional<Options> parse_options(int argc, char** argv, std::string& message, int& exit_code);

}  // namespace keyfence::vcard
