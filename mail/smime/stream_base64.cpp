#include "mail/smime/stream_base64.hpp"

#include <openssl/evp.h>

#include <algorithm>
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
}  // namespace

bool Base64Writer::write(std::string_view bytes) {
    while (m_ok && !bytes.empty()) {
        const std::size_t take = std::min(bytes.size(), k_block - m_pending.size());
        m_pending.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (m_pending.size() == k_block) m_ok = encode_lines(k_block);
    }
    return m_ok;
}

bool Base64Writer::encode_lines(std::size_t bytes) {
    const std::size_t chars = encode_block(m_encoded, m_pending.data(), bytes);
    const std::size_t lines = (chars + 75) / 76;
    m_lines.resize(chars + 2 * lines);
    char* out = m_lines.data();
    for (std::size_t at = 0; at < chars; at += 76) {
        const std::size_t n = std::min<std::size_t>(76, chars - at);
        std::memcpy(out, m_encoded.data() + at, n);
        out[n] = '\r';
        out[n + 1] = '\n';
        out += n + 2;
    }
    m_pending.erase(0, bytes);
    return m_sink(m_lines);
}

bool Base64Writer::finish() {
    if (m_ok && !m_pending.empty()) m_ok = encode_lines(m_pending.size());
    return m_ok;
}

}  // namespace keyfence::mail::smime
