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

/// Outcome of parsing argv: options, or a message (usage for --help, else an error) and
/// the exit code to use (0 for --help, 2 for usage errors).
struct ParsedOptions {
    std::optional<Options> options;
    std::string message;
    int exit_code = 2;
};

ParsedOptions parse_options(int argc, char** argv);

}  // namespace keyfence::vcard
