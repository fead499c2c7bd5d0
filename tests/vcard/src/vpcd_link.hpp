// The vpcd wire protocol (vsmartcard 3.3): the card is a TCP client; every message in both
// directions is a 2-byte big-endian length and a payload. 1-byte payloads from vpcd are
// control codes (00 power off, 01 power on, 02 reset, 04 get ATR); longer ones are APDUs.
#pragma once

#include "card.hpp"
#include "faults.hpp"

#include <atomic>
#include <string>

namespace keyfence::vcard {

/// Why a connection ended.
enum class LinkEnd { PeerClosed, Removed, Stopped, Error };

struct LinkOptions {
    std::string host;
    int port = 0;
    unsigned connect_timeout_ms = 10000;
    std::string control_path;  // re-read before each APDU; overlays `faults`
    FaultPlan faults;
    bool verbose = false;
};

/// Connects to vpcd, retrying until the timeout. Returns the socket or -1.
int connect_to_vpcd(const LinkOptions& options, const std::atomic<bool>& stop);

/// Serves `card` on socket `fd` until vpcd closes it, a removal fault fires, or `stop`
/// becomes true. Does not close `fd`.
LinkEnd serve_connection(int fd, Card& card, const LinkOptions& options,
                         const std::atomic<bool>& stop);

}  // namespace keyfence::vcard
