// Command APDU parsing and response building (ISO 7816-4 §5.1 and §5.3.4).
#pragma once

#include "bytes.hpp"
#include "status_word.hpp"

#include <cstdint>
#include <optional>

namespace keyfence::vcard {

/// A parsed command APDU. `le` is the decoded Ne: 256 for short Le=00, 65536 for
/// extended Le=0000, and 0 when Le is absent (`le_present` false).
struct CommandApdu {
    std::uint8_t cla = 0;
    std::uint8_t ins = 0;
    std::uint8_t p1 = 0;
    std::uint8_t p2 = 0;
    Bytes data;
    std::size_t le = 0;
    bool le_present = false;
    bool extended = false;

    /// Command chaining bit (ISO 7816-4 §5.1.1.1, CLA b5).
    bool chained() const { return (cla & 0x10) != 0; }
    std::uint16_t p1p2() const { return static_cast<std::uint16_t>(p1 << 8 | p2); }
};

/// Parses cases 1, 2S/2E, 3S/3E, 4S/4E. Empty optional if the lengths do not add up
/// (the card answers 6700 then).
std::optional<CommandApdu> parse_command_apdu(ByteView raw);

/// Serializes a command APDU (used by tests; picks extended form when needed or asked).
Bytes serialize_command_apdu(const CommandApdu& apdu);

/// Response body plus status word, before Le / GET RESPONSE splitting.
struct Response {
    Bytes data;
    std::uint16_t sw = static_cast<std::uint16_t>(StatusWord::Ok);

    static Response status(StatusWord s) { return {{}, static_cast<std::uint16_t>(s)}; }
    static Response status(std::uint16_t s) { return {{}, s}; }
    static Response ok(Bytes d) {
        return {std::move(d), static_cast<std::uint16_t>(StatusWord::Ok)};
    }
};

/// data || SW1 || SW2.
Bytes serialize_response(const Response& r);

}  // namespace keyfence::vcard
