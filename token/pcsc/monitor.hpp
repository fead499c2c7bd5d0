#pragma once
// Watching readers and cards come and go (SCardGetStatusChange, with the "\\?PnP?\Notification"
// pseudo-reader for readers being plugged in and out).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "token/pcsc/context.hpp"

namespace keyfence::token::pcsc {

struct ReaderEvent {
    enum class Kind { ReaderAdded, ReaderRemoved, CardInserted, CardRemoved };
    Kind kind;
    std::string reader;
    std::vector<std::uint8_t> atr;  ///< CardInserted: the card's ATR
};
std::string_view event_name(ReaderEvent::Kind kind);  ///< "reader-added", "card-inserted", ...

class ReaderMonitor {
  public:
    /// Connects to pcscd and takes the current state as the starting point; `initial()` gives
    /// it as ReaderAdded / CardInserted events.
    static base::Result<ReaderMonitor> start();

    const std::vector<ReaderEvent>& initial() const noexcept { return m_initial; }
    /// Waits up to `timeout` for changes and returns them (empty on timeout).
    base::Result<std::vector<ReaderEvent>> wait(std::chrono::milliseconds timeout);

  private:
    explicit ReaderMonitor(Context context) : m_context(std::move(context)) {}
    base::Result<std::vector<ReaderEvent>> refresh_readers();

    Context m_context;
    std::map<std::string, DWORD> m_states;  // reader -> last event state
    std::vector<ReaderEvent> m_initial;
};

}  // namespace keyfence::token::pcsc
