#pragma once
// Keyfence's bounds on the outer structure of OpenPGP data (docs/limits.md), checked before
// gpg reads it: the ASCII armor (RFC 4880 §6) and the packet headers of the de-armored stream
// (§4.2: old and new formats, partial body lengths). What lies inside a packet (a compressed
// or encrypted stream, a signature's subpackets) is gpg's to parse; this scan only refuses
// structures no honest sender writes, with ErrorCode::BadInput (exit 7), naming the bound.
// The scan is incremental and keeps a few bytes of state: a streamed decryption stays in
// constant memory.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace keyfence::mail::pgp {

struct PgpLimits {
    std::size_t max_armor_line = 4096;         ///< bytes of one armor line (RFC 4880: 76)
    std::size_t max_armor_headers = 64;        ///< "Key: value" lines of one armor block
    std::size_t max_packets = 4096;            ///< top-level packets in one input
    std::size_t max_partial_chunks = 1 << 22;  ///< partial body length chunks of one packet
    std::size_t min_first_partial = 512;       ///< RFC 4880 §4.2.2.4
    std::size_t max_signature_part = 1 << 20;  ///< bytes of an application/pgp-signature part
};

inline constexpr PgpLimits k_pgp_limits{};

/// Checks the packet headers of a binary OpenPGP stream fed in pieces of any size. Not
/// thread-safe; one scanner per stream. After an error, feed() returns it again.
class PacketScanner {
  public:
    explicit PacketScanner(const PgpLimits& limits = k_pgp_limits) : m_limits(limits) {}

    base::Status feed(std::span<const std::uint8_t> bytes);
    /// Skips `n` bytes without their values when all of them lie in the body of the current
    /// packet (or chunk), as feed() would; false, with nothing changed, otherwise. The armor
    /// scanner uses it to count, not decode, the bulk of a large message.
    bool skip_body(std::uint64_t n);
    /// The end of the stream: a packet cut short is an error. The scanner is then ready for
    /// another stream, and keeps counting packets across streams.
    base::Status finish();
    std::size_t packets() const noexcept { return m_packets; }

  private:
    enum class State { Tag, Length, Body, Rest };
    base::Status start_packet(std::uint8_t tag_byte);
    base::Status length_octet(std::uint8_t octet);
    base::Status body_length(std::uint64_t length, bool partial);
    base::Status fail(base::Error e);

    PgpLimits m_limits;
    State m_state = State::Tag;
    bool m_new_format = false;
    int m_tag = 0;
    std::uint8_t m_len[5] = {};
    std::size_t m_len_have = 0;
    std::size_t m_len_need = 0;
    std::uint64_t m_declared = 0;   ///< the current chunk's length, for the report
    std::uint64_t m_remaining = 0;  ///< bytes of the current chunk still to come
    bool m_partial = false;         ///< the current chunk is followed by another
    std::size_t m_chunks = 0;
    std::size_t m_packets = 0;
    std::optional<base::Error> m_error;
};

/// De-armors text fed in pieces: the blocks "-----BEGIN PGP ...-----" to "-----END PGP
/// ...-----" (a cleartext-signed block's signature included), their header and line lengths
/// checked, each block's data through a PacketScanner. Text outside the blocks is skipped, its
/// lines unbounded here (the MIME limits bound them). Radix-64 characters that are not in the
/// alphabet are skipped, as gpg does.
class ArmorScanner {
  public:
    explicit ArmorScanner(const PgpLimits& limits = k_pgp_limits)
        : m_limits(limits), m_packets(limits) {}

    base::Status feed(std::string_view text);
    base::Status finish();

  private:
    enum class State { Outside, Cleartext, Headers, Data, Checksum };
    base::Status line(std::string_view l);
    base::Status data_line(std::string_view l);
    base::Status end_block();
    void flush_quad();

    PgpLimits m_limits;
    PacketScanner m_packets;
    State m_state = State::Outside;
    std::string m_line;             ///< the current line (bounded; outside: its start only)
    std::size_t m_line_length = 0;  ///< its full length so far
    std::size_t m_headers = 0;
    std::uint32_t m_quad = 0;
    int m_quad_count = 0;
    std::optional<base::Error> m_error;
};

/// Scans `text` (armored OpenPGP data, possibly with text around it) whole.
base::Status check_armored_bounds(std::string_view text, const PgpLimits& limits = k_pgp_limits);

}  // namespace keyfence::mail::pgp
