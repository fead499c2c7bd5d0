#include "base/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace keyfence::base {

Progress::Progress(std::string what, std::uint64_t total)
    : m_what(std::move(what)),
      m_total(total),
      m_enabled(isatty(STDERR_FILENO) == 1),
      m_start(std::chrono::steady_clock::now()),
      m_last(m_start) {}

Progress::~Progress() {
    if (m_shown) std::fputs("\r\033[K", stderr);
}

void Progress::update(std::uint64_t done) {
    if (!m_enabled) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - m_start < std::chrono::milliseconds(500) ||
        now - m_last < std::chrono::milliseconds(100)) {
        return;
    }
    m_last = now;
    m_shown = true;
    const double mib = static_cast<double>(done) / (1024.0 * 1024.0);
    if (m_total > 0) {
        std::fprintf(
            stderr, "\r%s: %.0f%% (%.1f MiB)\033[K", m_what.c_str(),
            // The canonical form (CRLF) a little larger than the input never
            // shows more than 100 %.
            std::min(100.0, 100.0 * static_cast<double>(done) / static_cast<double>(m_total)), mib);
    } else {
        std::fprintf(stderr, "\r%s: %.1f MiB\033[K", m_what.c_str(), mib);
    }
    std::fflush(stderr);
}

}  // namespace keyfence::base
