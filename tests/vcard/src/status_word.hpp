// Status words the card returns, in one table (ISO 7816-4 §5.1.3, OpenPGP card 3.4 §7.3).
#pragma once

#include <cstdint>
#include <string_view>

namespace keyfence::vcard {

/// SW1SW2 values used by this card. 61xx and 63Cx carry a count in SW2; use
/// `bytes_remaining()` / `pin_tries_left()` to build them.
enum class StatusWord : std::uint16_t {
    Ok = 0x9000,
    BytesRemaining = 0x6100,          // 61xx: xx more bytes via GET RESPONSE (00 = 256+)
    DataMayBeCorrupted = 0x6281,      // part of returned data may be corrupted
    SelectedFileTerminated = 0x6285,  // selected file in termination state
    EndOfFile = 0x6282,
    SelectedFileDeactivated = 0x6283,
    PinTriesLeft = 0x63C0,  // 63Cx: password not checked, x tries left
    MemoryFailure = 0x6581,
    WrongLength = 0x6700,
    LastCommandOfChainExpected = 0x6883,
    SecurityStatusNotSatisfied = 0x6982,   // PW not verified / wrong PW
    AuthenticationMethodBlocked = 0x6983,  // PW blocked (error counter 0)
    ConditionsOfUseNotSatisfied = 0x6985,
    IncorrectData = 0x6A80,
    FileOrApplicationNotFound = 0x6A82,
    NotEnoughMemory = 0x6A84,
    IncorrectP1P2 = 0x6A86,
    ReferencedDataNotFound = 0x6A88,
    WrongP1P2 = 0x6B00,
    InstructionNotSupported = 0x6D00,
    ClassNotSupported = 0x6E00,
    NoPreciseDiagnosis = 0x6F00,
};

/// 61xx with xx = min(remaining, 256) coded as ISO does (00 means 256 or more).
constexpr std::uint16_t bytes_remaining(std::size_t remaining) {
    return static_cast<std::uint16_t>(0x6100 | (remaining >= 256 ? 0 : remaining));
}

/// 63Cx with x = tries left (clamped to 15).
constexpr std::uint16_t pin_tries_left(unsigned tries) {
    return static_cast<std::uint16_t>(0x63C0 | (tries > 15 ? 15 : tries));
}

/// Short name ("SecurityStatusNotSatisfied") for a status word; "Unknown" if not in the table.
std::string_view status_word_name(std::uint16_t sw);

/// One-line description of what the status word means to a client.
std::string_view status_word_description(std::uint16_t sw);

}  // namespace keyfence::vcard
