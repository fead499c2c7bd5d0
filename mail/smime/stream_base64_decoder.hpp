#pragma once
// Base64 decoding for large S/MIME parts (RFC 2045 §6.8), the twin of Base64Writer
// (stream_base64.hpp): whole lines are gathered and decoded with EVP_DecodeBlock over blocks of
// about 1 MiB, instead of GMime's decoding filter (a byte at a time, in 4 KiB pieces). On
// well-formed base64 the bytes are GMime's; like GMime it skips every character outside the
// alphabet (line ends, spaces). Text no encoder writes is read more plainly: decoding ends with
// the padding (GMime decodes on), and a last quantum without padding still yields its bytes.

#include <functional>
#include <string>
#include <string_view>

namespace keyfence::mail::smime {

class Base64Decoder {
  public:
    /// Receives decoded bytes; returns false to fail the decoding.
    using Sink = std::function<bool(std::string_view)>;
    explicit Base64Decoder(Sink sink) : m_sink(std::move(sink)) {}

    /// Decodes `text` (any size, any number of calls). False once the sink failed.
    bool write(std::string_view text);
    /// Decodes what is left (a last quantum without padding as if it were padded). False when
    /// the sink failed.
    bool finish();

  private:
    static constexpr std::size_t k_block = 1 << 20;  ///< characters per EVP_DecodeBlock call
    void add_line(std::string_view line);
    void add_filtered(std::string_view text);
    /// Decodes the whole quanta of m_chars (all of it when `final`: a short last quantum is
    /// padded).
    bool decode(bool final);
    void pad();

    Sink m_sink;
    std::string m_chars;  ///< alphabet characters (and the padding) not decoded yet
    std::string m_out;
    bool m_padded = false;  ///< the padding was seen: the rest of the text is ignored
    bool m_ok = true;
};

}  // namespace keyfence::mail::smime
