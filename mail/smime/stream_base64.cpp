#include "mail/smime/stream_base64.hpp"

#include <openssl/evp.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace keyfence::mail::smime {
namespace {
// EVP_EncodeBlock writes 4 characters per 3 bytes and a NUL, no line ends.
std::size_t encode_block(std::string& out, const char* in, std::size_t size) {
    out.resize(4 * ((size + 2) / 3) + 1);
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(in), static_cast<int>(size));
    return static_cast<std::size_t>(n);
}

// Two characters for every 12 bits: a 3-byte group is two lookups.
struct PairTable {
    std::uint16_t pair[4096];
    constexpr PairTable() : pair{} {
        constexpr char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 4096; ++i) {
            // In memory order: the first character at the lower address (any endianness).
            const unsigned char first = static_cast<unsigned char>(alphabet[i >> 6]);
            const unsigned char second = static_cast<unsigned char>(alphabet[i & 63]);
            pair[i] = std::endian::native == std::endian::little
                          ? static_cast<std::uint16_t>(first | (second << 8))
                          : static_cast<std::uint16_t>((first << 8) | second);
        }
    }
};
constexpr PairTable k_pairs;

// Three bytes to four characters through the pair table.
inline void encode_group(const unsigned char* in, char* out) {
    const std::uint32_t v = (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | in[2];
    const std::uint16_t hi = k_pairs.pair[v >> 12];
    const std::uint16_t lo = k_pairs.pair[v & 0xfff];
    std::memcpy(out, &hi, 2);
    std::memcpy(out + 2, &lo, 2);
}

#if defined(__x86_64__)
// 24 bytes to 32 characters with AVX2 (Muła and Lemire, 2018, as the decoder below); reads 28
// bytes from `in`.
__attribute__((target("avx2"))) void encode24_avx2(const unsigned char* in, char* out) {
    const __m256i input =
        _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 12)),
                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(in)));
    // Each 32-bit lane gets the three bytes of one group, arranged for the shifts below.
    const __m256i shuffled = _mm256_shuffle_epi8(
        input, _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1, 10, 11, 9, 10, 7,
                               8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1));
    const __m256i t0 = _mm256_and_si256(shuffled, _mm256_set1_epi32(0x0FC0FC00));
    const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
    const __m256i t2 = _mm256_and_si256(shuffled, _mm256_set1_epi32(0x003F03F0));
    const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
    const __m256i sextets = _mm256_or_si256(t1, t3);
    // Sextet to character: an offset per range (A-Z, a-z, 0-9, '+', '/').
    const __m256i lut =
        _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0, 65, 71, -4,
                         -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
    __m256i indices = _mm256_subs_epu8(sextets, _mm256_set1_epi8(51));
    const __m256i mask = _mm256_cmpgt_epi8(sextets, _mm256_set1_epi8(25));
    indices = _mm256_sub_epi8(indices, mask);
    const __m256i chars = _mm256_add_epi8(sextets, _mm256_shuffle_epi8(lut, indices));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), chars);
}

const bool k_avx2_encode = __builtin_cpu_supports("avx2");
#endif

// `lines` whole lines of 57 bytes from `in` as 76 characters and CRLF each, to `out`.
void encode_whole_lines(const unsigned char* in, std::size_t lines, char* out) {
#if defined(__x86_64__)
    if (k_avx2_encode) {
        // 24 + 24 bytes with AVX2 (reading at most in[52), within the line), then 9 by table.
        for (std::size_t l = 0; l < lines; ++l) {
            encode24_avx2(in, out);
            encode24_avx2(in + 24, out + 32);
            encode_group(in + 48, out + 64);
            encode_group(in + 51, out + 68);
            encode_group(in + 54, out + 72);
            out[76] = '\r';
            out[77] = '\n';
            in += 57;
            out += 78;
        }
        return;
    }
#endif
    for (std::size_t l = 0; l < lines; ++l) {
        for (int g = 0; g < 19; ++g) {
            encode_group(in, out);
            in += 3;
            out += 4;
        }
        out[0] = '\r';
        out[1] = '\n';
        out += 2;
    }
}
}  // namespace

bool Base64Writer::write(std::string_view bytes) {
    // Whole lines straight from `bytes` when nothing is pending: no copy.
    if (m_ok && m_pending.empty() && bytes.size() >= k_block) {
        const std::size_t lines = bytes.size() / k_line;
        m_lines.resize(lines * 78);
        encode_whole_lines(reinterpret_cast<const unsigned char*>(bytes.data()), lines,
                           m_lines.data());
        m_ok = m_sink(m_lines);
        bytes.remove_prefix(lines * k_line);
    }
    while (m_ok && !bytes.empty()) {
        const std::size_t take = std::min(bytes.size(), k_block - m_pending.size());
        m_pending.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (m_pending.size() == k_block) m_ok = encode_lines(k_block);
    }
    return m_ok;
}

bool Base64Writer::encode_lines(std::size_t bytes) {
    const std::size_t whole = bytes / k_line;
    const std::size_t rest = bytes - whole * k_line;
    m_lines.resize(whole * 78);
    encode_whole_lines(reinterpret_cast<const unsigned char*>(m_pending.data()), whole,
                       m_lines.data());
    if (rest > 0) {
        // The last, shorter line (with its padding): OpenSSL's encoder.
        const std::size_t chars = encode_block(m_encoded, m_pending.data() + whole * k_line, rest);
        m_lines.append(m_encoded.data(), chars).append("\r\n");
    }
    m_pending.erase(0, bytes);
    return m_sink(m_lines);
}

bool Base64Writer::finish() {
    if (m_ok && !m_pending.empty()) m_ok = encode_lines(m_pending.size());
    return m_ok;
}

}  // namespace keyfence::mail::smime

namespace keyfence::mail::smime {
namespace {
constexpr std::uint32_t k_invalid = 0xffu;

// The alphabet's values; everything else (but '=', which ends the data) is skipped.
constexpr std::uint32_t rank(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return k_invalid;
}

// The fast path's tables: each character's sextet already shifted into place, and bit 24 for
// anything that is not plain alphabet ('=' included: padding and skipped bytes take the slow
// path, one byte at a time).
struct QuadTables {
    std::uint32_t t[4][256];
    constexpr QuadTables() : t{} {
        for (int c = 0; c < 256; ++c) {
            const std::uint32_t r = rank(static_cast<unsigned char>(c));
            const bool plain = r != k_invalid && c != '=';
            for (int i = 0; i < 4; ++i) {
                t[i][c] = plain ? r << (6 * (3 - i)) : 1u << 24;
            }
        }
    }
};
constexpr QuadTables k_quad;

#if defined(__x86_64__)
// 32 characters of plain alphabet to 24 bytes with AVX2 (Muła and Lemire, "Faster Base64
// Encoding and Decoding Using AVX2 Instructions", 2018): false, and nothing written, when any
// of them is not (a line end, padding): the caller goes on byte by byte. Writes 32 bytes at
// `out`, of which the first 24 are the result.
__attribute__((target("avx2"))) bool decode32_avx2(const unsigned char* in, unsigned char* out) {
    const __m256i lut_lo =
        _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A,
                         0x1B, 0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                         0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
    const __m256i lut_hi =
        _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10,
                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m256i lut_roll =
        _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4,
                         -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i mask_2f = _mm256_set1_epi8(0x2f);
    __m256i str = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
    const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(str, 4), mask_2f);
    const __m256i lo_nibbles = _mm256_and_si256(str, mask_2f);
    const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
    const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
    if (!_mm256_testz_si256(lo, hi)) return false;
    const __m256i eq_2f = _mm256_cmpeq_epi8(str, mask_2f);
    const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles));
    str = _mm256_add_epi8(str, roll);
    // Four sextets to three bytes in each 32-bit lane, then the lanes' bytes packed together.
    const __m256i ab_bc = _mm256_maddubs_epi16(str, _mm256_set1_epi32(0x01400140));
    __m256i packed = _mm256_madd_epi16(ab_bc, _mm256_set1_epi32(0x00011000));
    packed = _mm256_shuffle_epi8(
        packed, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6,
                                 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
    packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), packed);
    return true;
}

const bool k_avx2 = __builtin_cpu_supports("avx2");
#endif
}  // namespace

std::string_view Base64Decoder::decode(std::string_view text) {
    if (m_ended) return {};
    m_out.resize(text.size() / 4 * 3 + 3 + 32);  // 32: decode32_avx2's slack
    auto* out = reinterpret_cast<unsigned char*>(m_out.data());
    const auto* in = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = in + text.size();
    const auto& t = k_quad.t;
    while (in < end) {
        if (m_count == 0) {
            // Whole quanta of plain alphabet: the lines of a base64 body between their ends.
#if defined(__x86_64__)
            if (k_avx2) {
                while (end - in >= 32 && decode32_avx2(in, out)) {
                    in += 32;
                    out += 24;
                }
            }
#endif
            while (end - in >= 4) {
                const std::uint32_t v = t[0][in[0]] | t[1][in[1]] | t[2][in[2]] | t[3][in[3]];
                if (v >> 24 != 0) break;
                out[0] = static_cast<unsigned char>(v >> 16);
                out[1] = static_cast<unsigned char>(v >> 8);
                out[2] = static_cast<unsigned char>(v);
                out += 3;
                in += 4;
            }
            if (in == end) break;
        }
        const unsigned char c = *in++;
        if (c == '=') {
            // The end of the data: what the pending characters hold, then nothing more.
            if (m_count == 2) {
                *out++ = static_cast<unsigned char>(m_saved >> 4);
            } else if (m_count == 3) {
                *out++ = static_cast<unsigned char>(m_saved >> 10);
                *out++ = static_cast<unsigned char>(m_saved >> 2);
            }
            m_count = 0;
            m_ended = true;
            break;
        }
        const std::uint32_t r = rank(c);
        if (r == k_invalid) continue;
        m_saved = (m_saved << 6) | r;
        if (++m_count == 4) {
            out[0] = static_cast<unsigned char>(m_saved >> 16);
            out[1] = static_cast<unsigned char>(m_saved >> 8);
            out[2] = static_cast<unsigned char>(m_saved);
            out += 3;
            m_count = 0;
            m_saved = 0;
        }
    }
    const std::size_t produced =
        static_cast<std::size_t>(out - reinterpret_cast<unsigned char*>(m_out.data()));
    m_decoded += produced;
    return std::string_view(m_out.data(), produced);
}

}  // namespace keyfence::mail::smime
