#include "token/openpgp/tlv.hpp"

#include <string>

namespace keyfence::token::openpgp {
namespace {
base::Error malformed(std::size_t offset, const char* what) {
    return base::Error(base::ErrorCode::BadInput, std::string("the card sent malformed data (") +
                                                      what + " at byte " + std::to_string(offset) +
                                                      ")");
}

base::Result<std::optional<Tlv>> find_in(std::span<const std::uint8_t> data, std::uint32_t tag,
                                         int depth) {
    if (depth > k_max_tlv_depth) return malformed(0, "nesting too deep");
    KEYFENCE_TRY_ASSIGN(tlvs, parse_tlvs(data));
    for (const Tlv& t : tlvs) {
        if (t.tag == tag) return std::optional<Tlv>(t);
    }
    for (const Tlv& t : tlvs) {
        if (!t.constructed) continue;
        KEYFENCE_TRY_ASSIGN(inner, find_in(t.value, tag, depth + 1));
        if (inner) return inner;
    }
    return std::optional<Tlv>();
}
}  // namespace

base::Result<std::vector<Tlv>> parse_tlvs(std::span<const std::uint8_t> data) {
    std::vector<Tlv> out;
    std::size_t i = 0;
    while (i < data.size()) {
        // Padding bytes 00 and FF between objects (ISO 7816-4 §5.2.2.1).
        if (data[i] == 0x00 || data[i] == 0xFF) {
            ++i;
            continue;
        }
        Tlv tlv;
        const std::size_t start = i;
        tlv.constructed = (data[i] & 0x20) != 0;
        std::uint32_t tag = data[i++];
        if ((tag & 0x1F) == 0x1F) {  // multi-byte tag: continuation bytes have bit 8 set
            int extra = 0;
            do {
                if (i >= data.size()) return malformed(start, "truncated tag");
                if (++extra > 2) return malformed(start, "tag too long");
                tag = (tag << 8) | data[i];
            } while ((data[i++] & 0x80) != 0);
        }
        tlv.tag = tag;
        if (i >= data.size()) return malformed(start, "missing length");
        std::size_t length = data[i++];
        if (length == 0x81 || length == 0x82) {
            const int bytes = length == 0x81 ? 1 : 2;
            if (i + bytes > data.size()) return malformed(start, "truncated length");
            length = 0;
            for (int b = 0; b < bytes; ++b) length = (length << 8) | data[i++];
        } else if (length > 0x7F) {
            return malformed(start, "unsupported length form");
        }
        if (length > data.size() - i) return malformed(start, "length past the end");
        tlv.value = data.subspan(i, length);
        i += length;
        out.push_back(tlv);
    }
    return out;
}

base::Result<std::optional<Tlv>> find_tlv(std::span<const std::uint8_t> data, std::uint32_t tag) {
    return find_in(data, tag, 0);
}

std::vector<std::uint8_t> encode_tlv(std::uint32_t tag, std::span<const std::uint8_t> value) {
    std::vector<std::uint8_t> out;
    if (tag > 0xFFFF) out.push_back(static_cast<std::uint8_t>(tag >> 16));
    if (tag > 0xFF) out.push_back(static_cast<std::uint8_t>(tag >> 8));
    out.push_back(static_cast<std::uint8_t>(tag));
    const std::size_t n = value.size();
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else if (n <= 0xFF) {
        out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
    } else {
        out.insert(out.end(),
                   {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    }
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

}  // namespace keyfence::token::openpgp
