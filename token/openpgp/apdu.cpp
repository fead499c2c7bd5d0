#include "token/openpgp/apdu.hpp"

#include <string>

#include "base/secure_buffer.hpp"

namespace keyfence::token::openpgp {
namespace {
constexpr std::size_t k_short_max = 255;

// Encodes header, Lc, data and Le into `out` (an object with push_back).
template <class Out>
void encode(Out& out, const Command& c, std::span<const std::uint8_t> data, bool chained,
            bool extended) {
    out.push_back(static_cast<std::uint8_t>(c.cla | (chained ? 0x10 : 0x00)));
    out.push_back(c.ins);
    out.push_back(c.p1);
    out.push_back(c.p2);
    const bool ext = extended && (data.size() > k_short_max || c.expect_data);
    if (!data.empty()) {
        if (ext) {
            out.push_back(0x00);
            out.push_back(static_cast<std::uint8_t>(data.size() >> 8));
            out.push_back(static_cast<std::uint8_t>(data.size()));
        } else {
            out.push_back(static_cast<std::uint8_t>(data.size()));
        }
        for (std::uint8_t b : data) out.push_back(b);
    }
    if (c.expect_data && !chained) {
        if (ext) {
            // Le = 0000 (65536) after Lc, or 00 0000 without data (ISO 7816-4 §5.1).
            if (data.empty()) out.push_back(0x00);
            out.push_back(0x00);
            out.push_back(0x00);
        } else {
            out.push_back(0x00);  // Le = 00: up to 256 bytes
        }
    }
}

struct VectorOut {
    std::vector<std::uint8_t>& v;
    void push_back(std::uint8_t b) { v.push_back(b); }
};
}  // namespace

base::Result<Response> Channel::exchange(std::span<const std::uint8_t> apdu) {
    KEYFENCE_TRY_ASSIGN(raw, m_transport->transmit(apdu));
    if (raw.empty()) {
        // vpcd and some readers report a card that vanished mid-command as an empty answer.
        return base::Error(base::ErrorCode::TokenRemoved,
                           "the card stopped answering (was it removed?); nothing was written",
                           "insert the card again and repeat the command");
    }
    if (raw.size() < 2) {
        return base::Error(base::ErrorCode::BadInput,
                           "the card sent an answer without a status word");
    }
    Response r;
    r.sw = static_cast<std::uint16_t>(raw[raw.size() - 2] << 8 | raw[raw.size() - 1]);
    r.data.assign(raw.begin(), raw.end() - 2);
    return r;
}

base::Result<Response> Channel::send_once(const Command& c, std::span<const std::uint8_t> data,
                                          bool chained) {
    if (c.sensitive) {
        base::SecureBuffer apdu(data.size() + 16);
        encode(apdu, c, data, chained, m_extended);
        return exchange(apdu.bytes());  // the buffer is wiped when it goes out of scope
    }
    std::vector<std::uint8_t> apdu;
    VectorOut out{apdu};
    encode(out, c, data, chained, m_extended);
    return exchange(apdu);
}

base::Result<Response> Channel::send(const Command& command) {
    std::span<const std::uint8_t> rest = command.data;
    // Command chaining (ISO 7816-4 §5.1.1.1) when the card takes no extended length.
    while (!m_extended && rest.size() > k_short_max) {
        KEYFENCE_TRY_ASSIGN(part, send_once(command, rest.first(k_short_max), true));
        if (!part.ok()) return part;
        rest = rest.subspan(k_short_max);
    }
    KEYFENCE_TRY_ASSIGN(response, send_once(command, rest, false));
    // 61xx: more data waits; fetch it with GET RESPONSE (ISO 7816-4 §7.6.1).
    while ((response.sw & 0xFF00) == 0x6100) {
        const Command get_response{.ins = 0xC0, .expect_data = true};
        KEYFENCE_TRY_ASSIGN(more, send_once(get_response, {}, false));
        if (response.data.size() + more.data.size() > k_max_response) {
            return base::Error(base::ErrorCode::BadInput, "the card's answer is too long (over " +
                                                              std::to_string(k_max_response) +
                                                              " bytes)");
        }
        response.data.insert(response.data.end(), more.data.begin(), more.data.end());
        response.sw = more.sw;
    }
    return response;
}

}  // namespace keyfence::token::openpgp
