#pragma once
// What an OpenPGP card says about itself: the AID (manufacturer, serial, version), the
// algorithm attributes of its three key slots, the PIN status bytes, fingerprints and the
// signature counter. OpenPGP card 3.4 §4.2.1 (AID), §4.4.3 (data objects).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace keyfence::token::openpgp {

enum class KeySlot { Signature = 0, Decryption = 1, Authentication = 2 };
std::string_view slot_name(KeySlot slot);  ///< "sig", "dec", "aut"

struct AlgorithmAttributes {
    enum class Kind { Rsa, Ecdsa, Ecdh, EdDsa, Unknown };
    Kind kind = Kind::Unknown;
    int rsa_bits = 0;
    std::string curve;  ///< "P-256", "P-384", "P-521", "Ed25519", "Cv25519"
    std::vector<std::uint8_t> raw;
    /// "RSA-2048", "ECDSA P-256", "EdDSA Ed25519", ...
    std::string describe() const;
};

/// PW status bytes, DO C4 (OpenPGP card 3.4 §4.4.1).
struct PinStatus {
    bool pw1_valid_for_several_signatures = false;
    int pw1_max_length = 0;
    int reset_code_max_length = 0;
    int pw3_max_length = 0;
    int pw1_tries = 0;
    int reset_code_tries = 0;
    int pw3_tries = 0;
};

struct ApplicationData {
    std::array<std::uint8_t, 16> aid{};
    int version_major = 0;
    int version_minor = 0;
    std::uint16_t manufacturer = 0;
    std::uint32_t serial = 0;
    bool extended_length = false;  ///< historical bytes / 7F66
    std::array<AlgorithmAttributes, 3> algorithms;
    PinStatus pins;
    std::array<std::vector<std::uint8_t>, 3> fingerprints;  ///< empty: no key in the slot
    std::array<std::uint32_t, 3> generation_times{};

    /// "FFFE0000ABCD": manufacturer and serial as in the AID, upper-case hex.
    std::string serial_text() const;
    /// The manufacturer's name from the registry of OpenPGP card manufacturers.
    std::string manufacturer_name() const;
    bool is_test_card() const noexcept { return manufacturer >= 0xFF00; }
};

/// Parses the AID (DO 4F).
base::Status parse_aid(std::span<const std::uint8_t> aid, ApplicationData& out);
/// Parses the application related data (DO 6E) into `out`.
base::Result<ApplicationData> parse_application_data(std::span<const std::uint8_t> do6e);
/// Parses the PW status bytes (DO C4).
base::Result<PinStatus> parse_pin_status(std::span<const std::uint8_t> c4);
/// Parses one algorithm attributes DO (C1, C2 or C3).
AlgorithmAttributes parse_algorithm_attributes(std::span<const std::uint8_t> value);
/// The digital signature counter from the security support template (DO 7A → 93).
base::Result<std::uint32_t> parse_signature_counter(std::span<const std::uint8_t> do7a);

}  // namespace keyfence::token::openpgp
