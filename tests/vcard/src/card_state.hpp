// Everything the card keeps across power cycles (what the state file stores).
#pragma once

#include "algorithm_attributes.hpp"
#include "bytes.hpp"

#include <array>
#include <cstdint>

namespace keyfence::vcard {

/// A password (PW1, resetting code or PW3) and its error counter (OpenPGP card 3.4 §4.3).
struct PasswordState {
    Bytes value;             // empty = not set (resetting code only)
    std::uint8_t tries = 0;  // error counter: tries left, 0 = blocked
};

/// One of the three key slots with its DOs.
struct KeySlotState {
    AlgorithmAttributes attributes = AlgorithmAttributes::rsa(2048);  // C1–C3
    EvpPkeyPtr key;                                                   // null: no key in the slot
    std::uint8_t key_status = 0;  // DE: 00 absent, 01 generated, 02 imported
    Bytes fingerprint;            // C7–C9, 20 bytes or empty
    Bytes ca_fingerprint;         // CA–CC, 20 bytes or empty
    Bytes generation_time;        // CE–D0, 4 bytes or empty
    Bytes certificate;            // 7F21 for this slot (SELECT DATA picks which)
};

/// The card's persistent state. Move-only because keys are owned EVP_PKEYs.
struct CardState {
    static constexpr std::uint8_t k_pw1_max_tries = 3;
    static constexpr std::uint8_t k_rc_max_tries = 3;
    static constexpr std::uint8_t k_pw3_max_tries = 3;
    static constexpr std::size_t k_pw1_min_length = 6;  // §4.3.1
    static constexpr std::size_t k_pw3_min_length = 8;
    static constexpr std::size_t k_rc_min_length = 8;
    static constexpr std::size_t k_pw_max_length = 127;  // advertised in C4

    std::uint16_t manufacturer = 0xFFFE;  // FF00–FFFE: test cards (§4.2.1)
    std::uint32_t serial = 0;
    PasswordState pw1;
    PasswordState reset_code;
    PasswordState pw3;
    bool pw1_valid_for_several_signatures = false;  // C4 byte 1 (spec default 00)
    std::uint32_t signature_counter = 0;            // 93, 3 bytes
    Bytes name;                                     // 5B
    Bytes language;                                 // 5F2D
    Bytes sex;                                      // 5F35
    Bytes url;                                      // 5F50
    Bytes login;                                    // 5E
    std::array<KeySlotState, 3> slots;
    bool terminated = false;  // TERMINATE DF done, waiting for ACTIVATE FILE

    /// Factory state: PW1 123456, PW3 12345678, no resetting code, RSA-2048 attributes,
    /// no keys, counter 0 (§4.3 defaults).
    static CardState factory(std::uint32_t serial, std::uint16_t manufacturer = 0xFFFE);

    /// Full 16-byte AID: D2 76 00 01 24 01 | 03 04 | manufacturer | serial | 00 00 (§4.2.1).
    Bytes aid() const;

    KeySlotState& slot(KeySlot s) { return slots[static_cast<std::size_t>(s)]; }
    const KeySlotState& slot(KeySlot s) const { return slots[static_cast<std::size_t>(s)]; }
};

/// Registered application identifier prefix (RID + PIX application 01).
inline constexpr std::array<std::uint8_t, 6> k_openpgp_rid{0xD2, 0x76, 0x00, 0x01, 0x24, 0x01};

/// Historical bytes (ISO 7816-4 §8.1.1): category 00, card service data, card
/// capabilities (DF selection, command chaining, extended Lc/Le), status 05 90 00.
Bytes historical_bytes();

/// ATR: T=1, same interface bytes as common OpenPGP tokens, our historical bytes, TCK.
Bytes answer_to_reset();

}  // namespace keyfence::vcard
