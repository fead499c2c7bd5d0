#include "status_word.hpp"

#include <array>

namespace keyfence::vcard {
namespace {

struct Entry {
    std::uint16_t sw;
    std::uint16_t mask;  // 0xFF00 for 61xx, 0xFFF0 for 63Cx, 0xFFFF otherwise
    std::string_view name;
    std::string_view description;
};

constexpr std::array k_table{
    Entry{0x9000, 0xFFFF, "Ok", "command completed"},
    Entry{0x6100, 0xFF00, "BytesRemaining", "more response data: send GET RESPONSE"},
    Entry{0x6281, 0xFFFF, "DataMayBeCorrupted", "part of returned data may be corrupted"},
    Entry{0x6282, 0xFFFF, "EndOfFile", "end of file reached before Le bytes"},
    Entry{0x6283, 0xFFFF, "SelectedFileDeactivated", "selected file deactivated"},
    Entry{0x6285, 0xFFFF, "SelectedFileTerminated", "application terminated: ACTIVATE FILE"},
    Entry{0x63C0, 0xFFF0, "PinTriesLeft", "password not checked; low nibble = tries left"},
    Entry{0x6581, 0xFFFF, "MemoryFailure", "memory failure"},
    Entry{0x6700, 0xFFFF, "WrongLength", "wrong length (Lc, Le or data size)"},
    Entry{0x6883, 0xFFFF, "LastCommandOfChainExpected", "command chain broken off"},
    Entry{0x6982, 0xFFFF, "SecurityStatusNotSatisfied", "password wrong or not verified"},
    Entry{0x6983, 0xFFFF, "AuthenticationMethodBlocked", "password blocked"},
    Entry{0x6985, 0xFFFF, "ConditionsOfUseNotSatisfied", "conditions of use not satisfied"},
    Entry{0x6A80, 0xFFFF, "IncorrectData", "incorrect parameters in the data field"},
    Entry{0x6A82, 0xFFFF, "FileOrApplicationNotFound", "file or application not found"},
    Entry{0x6A84, 0xFFFF, "NotEnoughMemory", "not enough memory"},
    Entry{0x6A86, 0xFFFF, "IncorrectP1P2", "incorrect P1 or P2"},
    Entry{0x6A88, 0xFFFF, "ReferencedDataNotFound", "referenced data or key not found"},
    Entry{0x6B00, 0xFFFF, "WrongP1P2", "wrong parameters P1-P2"},
    Entry{0x6D00, 0xFFFF, "InstructionNotSupported", "instruction not supported"},
    Entry{0x6E00, 0xFFFF, "ClassNotSupported", "class not supported"},
    Entry{0x6F00, 0xFFFF, "NoPreciseDiagnosis", "internal error, no precise diagnosis"},
};

const Entry* lookup(std::uint16_t sw) {
    for (const Entry& e : k_table) {
        if ((sw & e.mask) == e.sw) return &e;
    }
    return nullptr;
}

}  // namespace

std::string_view status_word_name(std::uint16_t sw) {
    const Entry* e = lookup(sw);
    return e ? e->name : "Unknown";
}

std::string_view status_word_description(std::uint16_t sw) {
    const Entry* e = lookup(sw);
    return e ? e->description : "status word not used by this card";
}

}  // namespace keyfence::vcard
