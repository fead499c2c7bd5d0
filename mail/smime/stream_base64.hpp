#pragma once
// Base64 for large S/MIME parts (RFC 2045 §6.8, RFC 8551 §3.3): lines of 76 characters ending
// in CRLF, encoded with EVP_EncodeBlock over blocks of about 1 MiB, instead of GMime's
// filter chain (base64, then a byte-at-a-time unix2dos, in 4 KiB pieces).

#include <cstdint>
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

namespace keyfence::mail::smime {

/// Base64 decoding at streaming speed for large S/MIME parts, with GMime 3.2's semantics
/// (g_mime_encoding_base64_decode_step, which the old path used through its filter): every byte
/// outside the alphabet (CR, LF, other whitespace, junk) is skipped; the first '=' ends the
/// data (a pending 2 or 3 characters give their 1 or 2 bytes) and everything after it is
/// ignored; an incomplete last quantum without '=' is dropped. Runs of plain alphabet decode 32
/// characters at a time with AVX2 where the CPU has it, else four at a time through lookup
/// tables: several times GMime's byte-at-a-time loop.
class Base64Decoder {
  public:
    /// Decodes the next piece of text; returns the bytes decoded (a view of an internal
    /// buffer, valid until the next call).
    std::string_view decode(std::string_view text);
    /// The end of the text: nothing more comes out (an incomplete quantum is dropped, as
    /// GMime does). Returns an empty view; there for the callers' symmetry with the writer.
    std::string_view finish() { return {}; }
    /// The number of bytes returned so far.
    std::uint64_t decoded() const noexcept { return m_decoded; }

  private:
    std::string m_out;
    std::uint32_t m_saved = 0;
    int m_count = 0;       ///< sextets in m_saved (0-3)
    bool m_ended = false;  ///< '=' seen
    std::uint64_t m_decoded = 0;
};

}  // namespace keyfence::mail::smime
