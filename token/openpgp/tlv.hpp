#pragma once
// BER-TLV as OpenPGP cards use it (ISO 7816-4 §5.2, OpenPGP card 3.4 §4.4): tags of 1-3 bytes,
// lengths of 1-3 bytes. The parser reads untrusted card answers: every length is checked
// against what is left, nesting is bounded, and nothing is read past the end.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace keyfence::token::openpgp {

struct Tlv {
    std::uint32_t tag = 0;
    bool constructed = false;
    std::span<const std::uint8_t> value;  ///< points into the parsed buffer
};

/// Maximum nesting the parser follows (OpenPGP cards use 3: 6E → 73 → C5).
inline constexpr int k_max_tlv_depth = 8;

/// Parses a sequence of TLVs (one level). Errors: BadInput naming the offset.
base::Result<std::vector<Tlv>> parse_tlvs(std::span<const std::uint8_t> data);

/// Finds `tag` in `data`, descending into constructed objects up to k_max_tlv_depth.
/// nullopt when absent; BadInput when the data is malformed.
base::Result<std::optional<Tlv>> find_tlv(std::span<const std::uint8_t> data, std::uint32_t tag);

/// Encodes one TLV with a primitive or constructed tag.
std::vector<std::uint8_t> encode_tlv(std::uint32_t tag, std::span<const std::uint8_t> value);

}  // namespace keyfence::token::openpgp
