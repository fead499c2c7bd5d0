// Faults on demand, for tests of the host software: latency, card removal, corrupted or
// truncated responses and corrupted signatures. Pure logic; the vpcd link applies them.
#pragma once

#include "bytes.hpp"
#include "card.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace keyfence::vcard {

/// Which responses (or commands) a fault hits: the Nth APDU since connect, or every APDU of
/// a kind. Text forms: "off", a number N (1-based), "any", "sign", "decipher", "auth",
/// "generate", "private-op" (sign, decipher, auth or generate).
struct FaultSelector {
    enum class Mode { Off, Nth, Any, Sign, Decipher, Authenticate, Generate, PrivateOp };
    Mode mode = Mode::Off;
    std::uint64_t nth = 0;

    static std::optional<FaultSelector> parse(const std::string& text);
    bool matches(std::uint64_t apdu_index, CommandKind kind) const;
    bool active() const { return mode != Mode::Off; }
};

/// The faults in force. Built from the command line, then overlaid by the control file.
struct FaultPlan {
    unsigned latency_ms = 0;         // added before every private-key operation
    std::uint64_t remove_after = 0;  // close the socket instead of answering APDU N+1
    FaultSelector remove_on;         // close instead of answering a matching APDU
    FaultSelector garble;            // invert bits of matching responses
    FaultSelector truncate;          // cut matching responses to half their length
    bool corrupt_signature = false;  // flip one bit in PSO:CDS / INTERNAL AUTH results
    unsigned counter_step = 1;       // what one signature adds to the signature counter
};

/// Applies control-file text ("key value" lines, '#' comments) over `plan`. Keys are the
/// long option names without dashes: latency-ms, remove-after, remove-on,
/// remove-during-op, garble, truncate, corrupt-signature, counter-step. Returns an error, empty if
/// ok.
std::string apply_fault_text(const std::string& text, FaultPlan& plan);

/// Garbles a response: inverts the first byte and, if longer than 3, the middle data byte.
Bytes garble_response(Bytes response);

/// Truncates a response to half its length (at least 1 byte), losing SW1/SW2.
Bytes truncate_response(Bytes response);

}  // namespace keyfence::vcard
