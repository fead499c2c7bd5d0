// BER-TLV as used by ISO 7816-4 and the OpenPGP card (OpenPGP card 3.4 §4.4.1).
#pragma once

#include "bytes.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace keyfence::vcard {

/// One parsed TLV; `value` points into the parsed buffer (no copy).
struct Tlv {
    std::uint32_t tag = 0;
    ByteView value;
    bool constructed = false;  // bit 6 of the first tag byte
};

/// Parses a sequence of TLVs at one level. Empty optional if malformed (truncated tag,
/// length or value, or a length form longer than 3 bytes). Padding bytes 00/FF between
/// objects are not accepted: the OpenPGP card never sends them.
std::optional<std::vector<Tlv>> parse_tlvs(ByteView data);

/// First TLV with `tag` at the top level of `data`; empty if absent or malformed.
std::optional<Tlv> find_tlv(ByteView data, std::uint32_t tag);

/// Encodes a tag (1 to 3 bytes, as written: 0x5F50 → 5F 50).
Bytes encode_tag(std::uint32_t tag);

/// Encodes a BER length (short form, 81 xx, 82 xx xx).
Bytes encode_length(std::size_t length);

/// Appends tag || length || value to `out`.
void append_tlv(Bytes& out, std::uint32_t tag, ByteView value);

/// tag || length || value as a new buffer.
Bytes make_tlv(std::uint32_t tag, ByteView value);

/// Reads one tag at `data[pos]` (advancing pos). Empty on truncation.
std::optional<std::uint32_t> read_tag(ByteView data, std::size_t& pos);

/// Reads one BER length at `data[pos]` (advancing pos). Empty on truncation/bad form.
std::optional<std::size_t> read_length(ByteView data, std::size_t& pos);

}  // namespace keyfence::vcard
