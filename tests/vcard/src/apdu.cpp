#include "apdu.hpp"

namespace keyfence::vcard {

// ISO 7816-4 §5.1: the body is Lc || data || Le, each of which may be absent; the
// extended forms start with a 00 byte followed by 2-byte lengths.
std::optional<CommandApdu> parse_command_apdu(ByteView raw) {
    if (raw.size() < 4) return std::nullopt;
    CommandApdu a;
    a.cla = raw[0];
    a.ins = raw[1];
    a.p1 = raw[2];
    a.p2 = raw[3];
    ByteView body = raw.subspan(4);
    if (body.empty()) return a;  // case 1
    if (body.size() == 1) {      // case 2S
        a.le_present = true;
        a.le = body[0] == 0 ? 256 : body[0];
        return a;
    }
    if (body[0] != 0) {  // short Lc
        std::size_t lc = body[0];
        if (body.size() == 1 + lc) {
            a.data.assign(body.begin() + 1, body.end());
            return a;
        }
        if (body.size() == 2 + lc) {
            a.data.assign(body.begin() + 1, body.begin() + 1 + static_cast<long>(lc));
            a.le_present = true;
            a.le = body.back() == 0 ? 256 : body.back();
            return a;
        }
        return std::nullopt;
    }
    a.extended = true;
    if (body.size() == 3) {  // case 2E
        std::size_t le = static_cast<std::size_t>(body[1] << 8 | body[2]);
        a.le_present = true;
        a.le = le == 0 ? 65536 : le;
        return a;
    }
    if (body.size() < 3) return std::nullopt;
    std::size_t lc = static_cast<std::size_t>(body[1] << 8 | body[2]);
    if (lc == 0) return std::nullopt;
    if (body.size() == 3 + lc) {
        a.data.assign(body.begin() + 3, body.end());
        return a;
    }
    if (body.size() == 5 + lc) {
        a.data.assign(body.begin() + 3, body.begin() + 3 + static_cast<long>(lc));
        std::size_t le = static_cast<std::size_t>(body[body.size() - 2] << 8 | body.back());
        a.le_present = true;
        a.le = le == 0 ? 65536 : le;
        return a;
    }
    return std::nullopt;
}

Bytes serialize_command_apdu(const CommandApdu& a) {
    Bytes out{a.cla, a.ins, a.p1, a.p2};
    bool ext = a.extended || a.data.size() > 255 || a.le > 256;
    if (!a.data.empty()) {
        if (ext) {
            out.push_back(0);
            append(out, be_bytes(a.data.size(), 2));
        } else {
            out.push_back(static_cast<std::uint8_t>(a.data.size()));
        }
        append(out, a.data);
    }
    if (a.le_present) {
        if (ext) {
            if (a.data.empty()) out.push_back(0);
            append(out, be_bytes(a.le == 65536 ? 0 : a.le, 2));
        } else {
            out.push_back(static_cast<std::uint8_t>(a.le == 256 ? 0 : a.le));
        }
    }
    return out;
}

Bytes serialize_response(const Response& r) {
    Bytes out = r.data;
    out.push_back(static_cast<std::uint8_t>(r.sw >> 8));
    out.push_back(static_cast<std::uint8_t>(r.sw));
    return out;
}

}  // namespace keyfence::vcard
