#pragma once
// Base64 for large S/MIME parts (RFC 2045 §6.8, RFC 8551 §3.3): lines of 76 characters ending
// in CRLF, encoded with EVP_EncodeBlock over blocks of about 1 MiB, instead of GMime's
// filter chain (base64, then a byte-at-a-time unix2dos, in 4 KiB pieces).

#include <functional>
#include <string>
#include <string_view>

namespace keyfence::mail::smime {

class Base64Writer {
  public:
    /// Receives encoded text, whole lines only; returns false to fail the write.
    using Sink = std::function<bool(std::string_view)>;
    explicit Base64Writer(Sink sink) : m_sink(std::move(sink)) {}
    /// Sends what follows to `sink` (a writer that lives for one phase of a two-phase job);
    /// the bytes still pending stay.
    void set_sink(Sink sink) { m_sink = std::move(sink); }

    /// Encodes `bytes` (any size, any number of calls). False once the sink failed.
    bool write(std::string_view bytes);
    /// Encodes what is left: the last, shorter line with its padding and CRLF. False when the
    /// sink failed.
    bool finish();

  private:
    static constexpr std::size_t k_line = 57;  ///< bytes per line of 76 characters
    static constexpr std::size_t k_block = k_line * 16384;
    bool encode_lines(std::size_t bytes);  ///< the first `bytes` (whole lines) of m_pending

    Sink m_sink;
    std::string m_pending;
    std::string m_encoded;
    std::string m_lines;
    bool m_ok = true;
};

}  // namespace keyfence::mail::smime
