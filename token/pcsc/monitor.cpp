#include "token/pcsc/monitor.hpp"

#include <thread>

#include "token/pcsc/pcsc_error.hpp"

namespace keyfence::token::pcsc {
namespace {
constexpr const char* k_pnp = "\\\\?PnP?\\Notification";

bool present(DWORD state) {
    return (state & SCARD_STATE_PRESENT) != 0;
}
}  // namespace

std::string_view event_name(ReaderEvent::Kind kind) {
    switch (kind) {
        case ReaderEvent::Kind::ReaderAdded:
            return "reader-added";
        case ReaderEvent::Kind::ReaderRemoved:
            return "reader-removed";
        case ReaderEvent::Kind::CardInserted:
            return "card-inserted";
        case ReaderEvent::Kind::CardRemoved:
            return "card-removed";
    }
    return "reader-added";
}

base::Result<ReaderMonitor> ReaderMonitor::start() {
    KEYFENCE_TRY_ASSIGN(context, Context::establish());
    ReaderMonitor monitor(std::move(context));
    KEYFENCE_TRY_ASSIGN(events, monitor.refresh_readers());
    monitor.m_initial = std::move(events);
    return monitor;
}

// Re-reads the reader list: new readers give ReaderAdded (and CardInserted when a card is in),
// vanished ones ReaderRemoved (and CardRemoved when a card was in).
base::Result<std::vector<ReaderEvent>> ReaderMonitor::refresh_readers() {
    KEYFENCE_TRY_ASSIGN(states, reader_states(m_context));
    std::vector<ReaderEvent> events;
    std::map<std::string, DWORD> now;
    for (const ReaderState& s : states) {
        const DWORD flags = s.card_present ? SCARD_STATE_PRESENT : SCARD_STATE_EMPTY;
        now[s.reader] = flags;
        if (!m_states.contains(s.reader)) {
            events.push_back({ReaderEvent::Kind::ReaderAdded, s.reader, {}});
            if (s.card_present)
                events.push_back({ReaderEvent::Kind::CardInserted, s.reader, s.atr});
        }
    }
    for (const auto& [reader, state] : m_states) {
        if (now.contains(reader)) continue;
        if (present(state)) events.push_back({ReaderEvent::Kind::CardRemoved, reader, {}});
        events.push_back({ReaderEvent::Kind::ReaderRemoved, reader, {}});
    }
    for (auto& [reader, state] : now) {
        if (m_states.contains(reader)) state = m_states[reader];
    }
    m_states = std::move(now);
    return events;
}

base::Result<std::vector<ReaderEvent>> ReaderMonitor::wait(std::chrono::milliseconds timeout) {
    std::vector<std::string> names;
    std::vector<SCARD_READERSTATE> states;
    for (const auto& [reader, state] : m_states) names.push_back(reader);
    states.resize(names.size() + 1);
    for (std::size_t i = 0; i < names.size(); ++i) {
        states[i].szReader = names[i].c_str();
        states[i].dwCurrentState = m_states[names[i]];
    }
    // The PnP pseudo-reader: its count of readers changes when one is plugged in or out.
    states.back().szReader = k_pnp;
    states.back().dwCurrentState = static_cast<DWORD>(names.size()) << 16;
    const LONG rv = SCardGetStatusChange(m_context.handle(), static_cast<DWORD>(timeout.count()),
                                         states.data(), static_cast<DWORD>(states.size()));
    if (rv == SCARD_E_TIMEOUT) return std::vector<ReaderEvent>{};
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_UNKNOWN_READER) {
        return pcsc_error(rv, "could not watch the readers");
    }
    std::vector<ReaderEvent> events;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const DWORD was = m_states[names[i]];
        const DWORD is = states[i].dwEventState & ~SCARD_STATE_CHANGED;
        if (states[i].dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE)) continue;
        if (!present(was) && present(is)) {
            events.push_back({ReaderEvent::Kind::CardInserted,
                              names[i],
                              {states[i].rgbAtr, states[i].rgbAtr + states[i].cbAtr}});
        } else if (present(was) && !present(is)) {
            events.push_back({ReaderEvent::Kind::CardRemoved, names[i], {}});
        }
        m_states[names[i]] = is;
    }
    // Any change of the reader set (or a reader gone unknown): re-read the list.
    KEYFENCE_TRY_ASSIGN(reader_events, refresh_readers());
    events.insert(events.end(), reader_events.begin(), reader_events.end());
    if (events.empty() && rv == SCARD_E_UNKNOWN_READER) {
        // A reader vanished between list and wait; give pcscd a moment before the next call.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return events;
}

}  // namespace keyfence::token::pcsc
