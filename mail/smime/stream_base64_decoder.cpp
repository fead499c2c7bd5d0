#include "mail/smime/stream_base64_decoder.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstring>

namespace keyfence::mail::smime {
namespace {
constexpr std::array<bool, 256> alphabet_table() {
    std::array<bool, 256> t{};
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    t['+'] = t['/'] = true;
    return t;
}
constexpr std::array<bool, 256> k_alphabet = alphabet_table();

}  // namespace

bool Base64Decoder::write(std::string_view text) {
    while (m_ok && !m_padded && !text.empty()) {
        const void* nl = std::memchr(text.data(), '\n', text.size());
        const std::size_t n =
            nl == nullptr ? text.size() : static_cast<const char*>(nl) - text.data() + 1;
        add_line(text.substr(0, n));
        text.remove_prefix(n);
        if (m_chars.size() >= k_block) decode(false);
    }
    return m_ok;
}

// A line (or a piece of one) with its CRLF, appended whole: EVP_DecodeBlock refuses any
// character outside the alphabet, and decode() then filters. A line with padding is taken
// character by character, to end the decoding there.
void Base64Decoder::add_line(std::string_view line) {
    std::size_t end = line.size();
    while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r')) --end;
    const std::string_view chars = line.substr(0, end);
    if (chars.find('=') == std::string_view::npos) {
        m_chars.append(chars);
    } else {
        add_filtered(chars);
    }
}

void Base64Decoder::add_filtered(std::string_view text) {
    for (char c : text) {
        if (m_padded) {
            // Only the padding that completes the quantum belongs to it.
            if (c != '=' || m_chars.size() % 4 == 0) return;
            m_chars.push_back(c);
        } else if (c == '=') {
            if (m_chars.size() % 4 < 2) {  // no byte is pending: the padding pads nothing
                m_padded = true;
                m_chars.resize(m_chars.size() / 4 * 4);
                return;
            }
            m_padded = true;
            m_chars.push_back(c);
        } else if (k_alphabet[static_cast<unsigned char>(c)]) {
            m_chars.push_back(c);
        }
    }
}

bool Base64Decoder::decode(bool final) {
    if (final) pad();
    std::size_t chars = m_chars.size() / 4 * 4;
    if (!m_ok || chars == 0) return m_ok;
    m_out.resize(chars / 4 * 3);
    const auto run = [&] {
        return EVP_DecodeBlock(reinterpret_cast<unsigned char*>(m_out.data()),
                               reinterpret_cast<const unsigned char*>(m_chars.data()),
                               static_cast<int>(chars));
    };
    int n = run();
    if (n < 0) {
        // A character outside the alphabet (a space, a stray byte): skipped, as GMime does.
        std::string raw = std::move(m_chars);
        m_chars.clear();
        const bool padded = m_padded;
        m_padded = false;
        add_filtered(raw);
        m_padded = m_padded || padded;
        if (final) pad();
        chars = m_chars.size() / 4 * 4;
        if (chars == 0) return m_ok;
        n = run();
        if (n < 0) return m_ok = false;  // cannot happen: only alphabet and final padding
    }
    // EVP_DecodeBlock counts the bytes the padding stands for: they are not data.
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = chars; i > 0 && m_chars[i - 1] == '=' && size > 0; --i) --size;
    m_chars.erase(0, chars);
    if (size > 0 && !m_sink(std::string_view(m_out.data(), size))) m_ok = false;
    return m_ok;
}

// 2 or 3 characters left without padding still hold 1 or 2 bytes; 1 holds none.
void Base64Decoder::pad() {
    if (m_chars.size() % 4 == 1) m_chars.pop_back();
    while (m_chars.size() % 4 != 0) m_chars.push_back('=');
}

bool Base64Decoder::finish() {
    return decode(true);
}

}  // namespace keyfence::mail::smime
