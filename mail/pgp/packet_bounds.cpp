#include "mail/pgp/packet_bounds.hpp"

#include <array>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

base::Error exceeded(const std::string& what, std::uint64_t value, std::uint64_t limit) {
    return base::Error(ErrorCode::BadInput,
                       "the OpenPGP data exceeds Keyfence's limit on " + what + " (" +
                           std::to_string(value) + ", at most " + std::to_string(limit) + ")",
                       "see docs/limits.md; such data is refused before gpg reads it");
}

base::Error malformed(const std::string& what) {
    return base::Error(ErrorCode::BadInput, "the OpenPGP data is malformed: " + what,
                       "see docs/limits.md; such data is refused before gpg reads it");
}

// RFC 4880 §4.2.2.4: partial lengths only for literal (11), compressed (8), symmetrically
// encrypted (9, 18) data; RFC 9580 §5.13 adds AEAD encrypted data (20).
bool may_be_partial(int tag) {
    return tag == 8 || tag == 9 || tag == 11 || tag == 18 || tag == 20;
}

// Radix-64 values (RFC 4880 §6.3) by character; -1 for every other byte.
constexpr std::array<std::int8_t, 256> k_radix64 = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}();

int radix64_value(char c) {
    return k_radix64[static_cast<unsigned char>(c)];
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}
}  // namespace

// --- packets --------------------------------------------------------------------------------

base::Status PacketScanner::fail(base::Error e) {
    m_error = e;
    return e;
}

base::Status PacketScanner::start_packet(std::uint8_t b) {
    // RFC 4880 §4.2: bit 7 is always one.
    if ((b & 0x80) == 0) {
        return fail(malformed("a packet header without its leading 1 bit (RFC 4880 §4.2)"));
    }
    if (++m_packets > m_limits.max_packets) {
        return fail(exceeded("packets in one message", m_packets, m_limits.max_packets));
    }
    m_new_format = (b & 0x40) != 0;
    m_tag = m_new_format ? (b & 0x3f) : ((b >> 2) & 0x0f);
    if (m_tag == 0) return fail(malformed("a packet with the reserved tag 0 (RFC 4880 §4.3)"));
    m_chunks = 0;
    m_len_have = 0;
    if (m_new_format) {
        m_len_need = 0;  // known from the first length octet
    } else {
        static constexpr std::size_t k_old_lengths[] = {1, 2, 4, 0};
        m_len_need = k_old_lengths[b & 0x03];
        if (m_len_need == 0) {
            // Indeterminate length (old format, type 3): the packet runs to the end of the data.
            m_state = State::Rest;
            return {};
        }
    }
    m_state = State::Length;
    return {};
}

base::Status PacketScanner::body_length(std::uint64_t length, bool partial) {
    if (partial && !may_be_partial(m_tag)) {
        return fail(malformed("a partial body length on a packet of type " + std::to_string(m_tag) +
                              " (RFC 4880 §4.2.2.4 allows them only for data packets)"));
    }
    if (partial && m_chunks == 0 && length < m_limits.min_first_partial) {
        return fail(malformed("a first partial body length of " + std::to_string(length) +
                              " bytes (RFC 4880 §4.2.2.4: at least 512)"));
    }
    if (++m_chunks > m_limits.max_partial_chunks) {
        return fail(exceeded("partial body length chunks of one packet", m_chunks,
                             m_limits.max_partial_chunks));
    }
    m_declared = length;
    m_remaining = length;
    m_partial = partial;
    m_state = m_remaining > 0 ? State::Body : (partial ? State::Length : State::Tag);
    m_len_have = 0;
    m_len_need = 0;
    return {};
}

base::Status PacketScanner::length_octet(std::uint8_t o) {
    m_len[m_len_have++] = o;
    if (m_new_format) {
        // RFC 4880 §4.2.2: one, two or five octets, or one partial-length octet.
        const std::uint8_t first = m_len[0];
        if (m_len_need == 0) {
            m_len_need = first < 192 ? 1 : first < 224 ? 2 : first == 255 ? 5 : 1;
        }
        if (m_len_have < m_len_need) return {};
        if (first < 192) return body_length(first, false);
        if (first < 224) return body_length(((first - 192u) << 8) + m_len[1] + 192u, false);
        if (first == 255) {
            return body_length((std::uint64_t{m_len[1]} << 24) | (std::uint64_t{m_len[2]} << 16) |
                                   (std::uint64_t{m_len[3]} << 8) | m_len[4],
                               false);
        }
        return body_length(std::uint64_t{1} << (first & 0x1f), true);
    }
    if (m_len_have < m_len_need) return {};
    std::uint64_t length = 0;
    for (std::size_t i = 0; i < m_len_need; ++i) length = (length << 8) | m_len[i];
    return body_length(length, false);
}

base::Status PacketScanner::feed(std::span<const std::uint8_t> bytes) {
    if (m_error) return *m_error;
    std::size_t i = 0;
    while (i < bytes.size()) {
        switch (m_state) {
            case State::Tag:
                KEYFENCE_TRY(start_packet(bytes[i++]));
                break;
            case State::Length:
                KEYFENCE_TRY(length_octet(bytes[i++]));
                break;
            case State::Body: {
                // The body is skipped in bulk: nothing of it is kept.
                const std::uint64_t n = std::min<std::uint64_t>(m_remaining, bytes.size() - i);
                i += static_cast<std::size_t>(n);
                m_remaining -= n;
                if (m_remaining == 0) m_state = m_partial ? State::Length : State::Tag;
                break;
            }
            case State::Rest:
                return {};
        }
    }
    return {};
}

bool PacketScanner::skip_body(std::uint64_t n) {
    if (m_error || m_state != State::Body || n > m_remaining) return false;
    m_remaining -= n;
    if (m_remaining == 0) m_state = m_partial ? State::Length : State::Tag;
    return true;
}

base::Status PacketScanner::finish() {
    if (m_error) return *m_error;
    const State state = m_state;
    m_state = State::Tag;
    if (state == State::Body || (state == State::Length && (m_len_have > 0 || m_partial))) {
        return fail(malformed("a packet of type " + std::to_string(m_tag) + " declares " +
                              std::to_string(m_declared) +
                              " bytes, more than the data holds (cut short, or a forged length)"));
    }
    if (state == State::Length) {
        return fail(malformed("a packet header is cut short at the end of the data"));
    }
    return {};
}

// --- armor ----------------------------------------------------------------------------------

void ArmorScanner::flush_quad() {
    // A final group of 2 or 3 characters carries 1 or 2 bytes (RFC 4648 §4).
    std::uint8_t out[2];
    std::size_t n = 0;
    if (m_quad_count == 2) {
        out[n++] = static_cast<std::uint8_t>(m_quad >> 4);
    } else if (m_quad_count == 3) {
        out[n++] = static_cast<std::uint8_t>(m_quad >> 10);
        out[n++] = static_cast<std::uint8_t>(m_quad >> 2);
    }
    m_quad = 0;
    m_quad_count = 0;
    if (n > 0 && !m_error) {
        if (auto s = m_packets.feed({out, n}); !s) m_error = s.error();
    }
}

namespace {
// Whether every character of `l` is in the radix-64 alphabet (RFC 4880 §6.3): 16 at a time
// where SSE2 is there (every x86-64), the table for the rest. The bulk of a large armored
// message passes here once per line.
bool all_radix64(std::string_view l) {
    std::size_t at = 0;
#ifdef __SSE2__
    // In signed bytes, c - lo + (-128) < -128 + n  ⇔  lo <= c < lo + n.
    auto in_range = [](__m128i v, char lo, char n) {
        const __m128i shifted = _mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(-128 - lo)));
        return _mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>(-128 + n)));
    };
    for (; at + 16 <= l.size(); at += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(l.data() + at));
        const __m128i ok =
            _mm_or_si128(_mm_or_si128(in_range(v, 'A', 26), in_range(v, 'a', 26)),
                         _mm_or_si128(in_range(v, '0', 10),
                                      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')),
                                                   _mm_cmpeq_epi8(v, _mm_set1_epi8('/')))));
        if (_mm_movemask_epi8(ok) != 0xFFFF) return false;
    }
#endif
    bool plain = true;
    for (; at < l.size(); ++at) plain &= k_radix64[static_cast<unsigned char>(l[at])] >= 0;
    return plain;
}
}  // namespace

base::Status ArmorScanner::data_line(std::string_view l) {
    // The bulk of a large message: whole quads of radix-64 characters only, at a quad
    // boundary, whose bytes all lie in the current packet body. They are counted, not decoded
    // (the body's bytes are never looked at); the verdict is the decoding path's.
    if (m_quad_count == 0 && !l.empty() && l.size() % 4 == 0 && !m_error) {
        if (all_radix64(l) && m_packets.skip_body(l.size() / 4 * 3)) return {};
    }
    std::uint8_t out[3 * 32];
    std::size_t n = 0;
    for (const char c : l) {
        if (c == '=') {
            // Padding: the data ends here, after the bytes of this line decoded so far.
            KEYFENCE_TRY(m_packets.feed({out, n}));
            n = 0;
            flush_quad();
            break;
        }
        const int v = radix64_value(c);
        if (v < 0) continue;
        m_quad = (m_quad << 6) | static_cast<std::uint32_t>(v);
        if (++m_quad_count == 4) {
            out[n++] = static_cast<std::uint8_t>(m_quad >> 16);
            out[n++] = static_cast<std::uint8_t>(m_quad >> 8);
            out[n++] = static_cast<std::uint8_t>(m_quad);
            m_quad = 0;
            m_quad_count = 0;
            if (n == sizeof out) {
                KEYFENCE_TRY(m_packets.feed({out, n}));
                n = 0;
            }
        }
    }
    if (m_error) return *m_error;
    return m_packets.feed({out, n});
}

base::Status ArmorScanner::end_block() {
    flush_quad();
    if (m_error) return *m_error;
    m_state = State::Outside;
    return m_packets.finish();
}

base::Status ArmorScanner::line(std::string_view l) {
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t')) {
        l.remove_suffix(1);
    }
    switch (m_state) {
        case State::Outside:
            if (starts_with(l, "-----BEGIN PGP SIGNED MESSAGE-----")) {
                m_state = State::Cleartext;
            } else if (starts_with(l, "-----BEGIN PGP ")) {
                m_state = State::Headers;
                m_headers = 0;
            }
            return {};
        case State::Cleartext:
            // RFC 4880 §7.1: text lines starting with '-' are dash-escaped, so this line is the
            // signature's armor.
            if (starts_with(l, "-----BEGIN PGP SIGNATURE-----")) {
                m_state = State::Headers;
                m_headers = 0;
            }
            return {};
        case State::Headers:
            if (l.empty()) {
                m_state = State::Data;
                return {};
            }
            if (l.find(':') != std::string_view::npos) {
                if (++m_headers > m_limits.max_armor_headers) {
                    return exceeded("armor header lines", m_headers, m_limits.max_armor_headers);
                }
                return {};
            }
            m_state = State::Data;  // no blank line: lenient, as gpg
            [[fallthrough]];
        case State::Data:
            if (starts_with(l, "-----END PGP ")) return end_block();
            if (starts_with(l, "=")) {
                m_state = State::Checksum;  // RFC 4880 §6.1: the CRC-24 line
                flush_quad();
                return m_error ? base::Status(*m_error) : base::Status();
            }
            return data_line(l);
        case State::Checksum:
            if (starts_with(l, "-----END PGP ")) return end_block();
            return {};
    }
    return {};
}

base::Status ArmorScanner::feed(std::string_view text) {
    if (m_error) return *m_error;
    static constexpr std::size_t k_marker = 64;  // enough to tell a BEGIN line
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view piece = text.substr(0, nl);
        m_line_length += piece.size();
        const bool in_block = m_state != State::Outside && m_state != State::Cleartext;
        if (in_block && m_line_length > m_limits.max_armor_line) {
            m_error =
                exceeded("the length of an armor line", m_line_length, m_limits.max_armor_line);
            return *m_error;
        }
        const std::size_t keep = in_block ? piece.size()
                                 : m_line.size() < k_marker
                                     ? std::min(piece.size(), k_marker - m_line.size())
                                     : 0;
        if (nl != std::string_view::npos && m_line.empty()) {
            // A whole line in `text`: scanned where it is, not copied (the bulk of a message).
            auto s = line(piece.substr(0, keep));
            m_line_length = 0;
            if (!s) {
                m_error = s.error();
                return s;
            }
            text.remove_prefix(nl + 1);
            continue;
        }
        m_line.append(piece.substr(0, keep));
        if (nl == std::string_view::npos) break;
        auto s = line(m_line);
        m_line.clear();
        m_line_length = 0;
        if (!s) {
            m_error = s.error();
            return s;
        }
        text.remove_prefix(nl + 1);
    }
    return {};
}

base::Status ArmorScanner::finish() {
    if (m_error) return *m_error;
    if (!m_line.empty()) {
        KEYFENCE_TRY(line(m_line));
        m_line.clear();
        m_line_length = 0;
    }
    // An armor without its END line: the packets must still be whole.
    if (m_state == State::Headers || m_state == State::Data || m_state == State::Checksum) {
        return end_block();
    }
    return {};
}

base::Status check_armored_bounds(std::string_view text, const PgpLimits& limits) {
    ArmorScanner scanner(limits);
    KEYFENCE_TRY(scanner.feed(text));
    return scanner.finish();
}

}  // namespace keyfence::mail::pgp
