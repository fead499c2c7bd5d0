#pragma once
// Command APDUs and the channel that sends them (ISO 7816-4 §5.1): short or extended length,
// command chaining when a command is longer than the card takes at once, and GET RESPONSE
// while the card says 61xx. APDUs that carry a PIN are built in locked memory.

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace keyfence::token::openpgp {

/// What moves APDUs to a card: PC/SC in production, the card emulator's core in unit tests,
/// scripted answers in the fuzzer. Returns the raw response (data, SW1, SW2).
class Transport {
  public:
    virtual ~Transport() = default;
    virtual base::Result<std::vector<std::uint8_t>> transmit(
        std::span<const std::uint8_t> apdu) = 0;
};

struct Command {
    std::uint8_t cla = 0x00;
    std::uint8_t ins = 0;
    std::uint8_t p1 = 0;
    std::uint8_t p2 = 0;
    std::span<const std::uint8_t> data;
    bool expect_data = true;  ///< send Le (maximum) so the card returns its data
    bool sensitive = false;   ///< carries a PIN: encode in locked memory, wipe after
};

struct Response {
    std::vector<std::uint8_t> data;
    std::uint16_t sw = 0;
    bool ok() const noexcept { return sw == 0x9000; }
};

/// Upper bound on a response assembled from 61xx pieces: no OpenPGP card answer is larger.
inline constexpr std::size_t k_max_response = 64 * 1024;

class Channel {
  public:
    /// `extended`: the card accepts extended Lc/Le (historical bytes or 7F66 said so).
    explicit Channel(Transport& transport, bool extended = false)
        : m_transport(&transport), m_extended(extended) {}

    void set_extended(bool extended) noexcept { m_extended = extended; }
    bool extended() const noexcept { return m_extended; }

    /// Sends `command` (chained if needed) and collects the whole response. A status word
    /// other than 9000 is not an error here: the caller maps it. Errors: transport failures,
    /// BadInput for a response shorter than a status word or longer than k_max_response.
    base::Result<Response> send(const Command& command);

  private:
    base::Result<Response> exchange(std::span<const std::uint8_t> apdu);
    base::Result<Response> send_once(const Command& command, std::span<const std::uint8_t> data,
                                     bool chained);

    Transport* m_transport;
    bool m_extended;
};

}  // namespace keyfence::token::openpgp
