#pragma once
// Canonical form (CRLF line ends, RFC 8551 §3.1.1) at streaming speed: a memchr-based bare-LF
// converter, used by write_canonical() (declared in gmime.hpp) and by the streaming S/MIME code.

#include <string>
#include <string_view>

namespace keyfence::mail::mime {

/// Turns every bare LF into CRLF, across pieces of any size (a CR at the end of one piece and
/// an LF at the start of the next are one line end). Not thread-safe; one per stream.
class CrlfConverter {
  public:
    /// The converted piece: `bytes` itself when it held no bare LF, else a view of an internal
    /// buffer valid until the next call. No allocation once the buffer has grown.
    std::string_view convert(std::string_view bytes);
    /// The last byte seen (0 before any), for "ensure a final newline" decisions.
    char last() const noexcept { return m_last; }
    /// Forgets the last byte: the next piece starts a line.
    void reset() noexcept { m_last = 0; }

  private:
    std::string m_out;
    char m_last = 0;
};

}  // namespace keyfence::mail::mime
