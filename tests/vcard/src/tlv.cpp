#include "tlv.hpp"

namespace keyfence::vcard {

std::optional<std::uint32_t> read_tag(ByteView data, std::size_t& pos) {
    if (pos >= data.size()) return std::nullopt;
    std::uint32_t tag = data[pos++];
    if ((tag & 0x1F) != 0x1F) return tag;
    // Multi-byte tag: subsequent bytes while bit 8 is set (ISO 7816-4 §5.2.2.1).
    for (int i = 0; i < 2; ++i) {
        if (pos >= data.size()) return std::nullopt;
        std::uint8_t b = data[pos++];
        tag = tag << 8 | b;
        if ((b & 0x80) == 0) return tag;
    }
    return std::nullopt;
}

std::optional<std::size_t> read_length(ByteView data, std::size_t& pos) {
    if (pos >= data.size()) return std::nullopt;
    std::uint8_t first = data[pos++];
    if (first < 0x80) return first;
    std::size_t count = first & 0x7F;
    if (count == 0 || count > 3 || pos + count > data.size()) return std::nullopt;
    std::size_t length = 0;
    for (std::size_t i = 0; i < count; ++i) length = length << 8 | data[pos++];
    return length;
}

std::optional<std::vector<Tlv>> parse_tlvs(ByteView data) {
    std::vector<Tlv> out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        std::size_t tag_start = pos;
        auto tag = read_tag(data, pos);
        if (!tag) return std::nullopt;
        auto length = read_length(data, pos);
        if (!length || *length > data.size() - pos) return std::nullopt;
        Tlv tlv;
        tlv.tag = *tag;
        tlv.value = data.subspan(pos, *length);
        tlv.constructed = (data[tag_start] & 0x20) != 0;
        out.push_back(tlv);
        pos += *length;
    }
    return out;
}

std::optional<Tlv> find_tlv(ByteView data, std::uint32_t tag) {
    auto all = parse_tlvs(data);
    if (!all) return std::nullopt;
    for (const Tlv& t : *all) {
        if (t.tag == tag) return t;
    }
    return std::nullopt;
}

Bytes encode_tag(std::uint32_t tag) {
    if (tag > 0xFFFF) return be_bytes(tag, 3);
    if (tag > 0xFF) return be_bytes(tag, 2);
    return be_bytes(tag, 1);
}

Bytes encode_length(std::size_t length) {
    if (length < 0x80) return {static_cast<std::uint8_t>(length)};
    if (length <= 0xFF) return {0x81, static_cast<std::uint8_t>(length)};
    if (length <= 0xFFFF) {
        return {0x82, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
    }
    return {0x83, static_cast<std::uint8_t>(length >> 16), static_cast<std::uint8_t>(length >> 8),
            static_cast<std::uint8_t>(length)};
}

void append_tlv(Bytes& out, std::uint32_t tag, ByteView value) {
    append(out, encode_tag(tag));
    append(out, encode_length(value.size()));
    append(out, value);
}

Bytes make_tlv(std::uint32_t tag, ByteView value) {
    Bytes out;
    append_tlv(out, tag, value);
    return out;
}

}  // namespace keyfence::vcard
