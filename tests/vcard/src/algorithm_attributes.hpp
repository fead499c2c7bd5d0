// Algorithm attributes C1/C2/C3 (OpenPGP card 3.4 §4.4.3.9) for the algorithms this card
// implements: RSA 2048/3072/4096, ECDSA/ECDH on NIST P-256/P-384, EdDSA Ed25519 and
// ECDH Cv25519 (X25519).
#pragma once

#include "bytes.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace keyfence::vcard {

/// Algorithm ID byte (first byte of C1–C3).
enum class KeyAlgorithm : std::uint8_t { Rsa = 0x01, Ecdh = 0x12, Ecdsa = 0x13, Eddsa = 0x16 };

enum class Curve { None, P256, P384, Ed25519, X25519 };

/// Which of the three key slots. Order matches C1, C2, C3 and the key references 1, 2, 3.
enum class KeySlot : std::uint8_t { Signature = 0, Decryption = 1, Authentication = 2 };

/// Parsed and validated algorithm attributes; `raw` keeps the exact bytes the client wrote
/// so GET DATA returns them unchanged.
struct AlgorithmAttributes {
    KeyAlgorithm algorithm = KeyAlgorithm::Rsa;
    std::uint16_t rsa_bits = 0;
    std::uint16_t rsa_e_bits = 0;
    std::uint8_t rsa_import_format = 0;
    Curve curve = Curve::None;
    Bytes raw;

    /// Parses C1–C3 content. Empty if unknown algorithm/curve, unsupported RSA size, or an
    /// algorithm that does not fit `slot` (e.g. ECDH in the signature slot).
    static std::optional<AlgorithmAttributes> parse(ByteView data, KeySlot slot);

    /// Card default: RSA-2048, e length 17 bits, standard import format (§4.4.3.9).
    static AlgorithmAttributes rsa(std::uint16_t bits);

    /// ECC attributes for `curve` with the algorithm that fits `slot`.
    static AlgorithmAttributes ecc(Curve curve, KeySlot slot);

    bool is_rsa() const { return algorithm == KeyAlgorithm::Rsa; }

    /// Field size in bytes of the curve (32 / 48); 0 for RSA.
    std::size_t field_bytes() const;

    /// Short human name: "rsa2048", "nistp256", "ed25519", "cv25519".
    std::string name() const;

    /// Parses a name as accepted by --key-attrs: rsa2048|rsa3072|rsa4096|nistp256|
    /// nistp384|ed25519 (sig/auth) / cv25519 (dec); for slot mismatch returns empty.
    static std::optional<AlgorithmAttributes> from_name(const std::string& name, KeySlot slot);
};

/// DER content (no 06 tag/length) of the curve OID as the card stores it.
Bytes curve_oid(Curve curve);

}  // namespace keyfence::vcard
