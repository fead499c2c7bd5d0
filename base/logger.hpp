#pragma once
// The redacting logger. It refuses Pin and SecureBuffer at compile time, and scrubs PIN-like
// fields ("pin-value=...", "pin-source=...") from strings before they are written.

#include <sstream>
#include <string>
#include <string_view>

#include "base/pin.hpp"

namespace keyfence::base {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };

/// Sets the most verbose level written (default Warn). Thread-safe.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;

/// Replaces the values of PIN-bearing URI attributes and assignments with "[redacted]".
std::string redact(std::string_view text);

/// Writes one redacted line to stderr: "keyfence: LEVEL: message". Thread-safe.
void write_log_line(LogLevel level, std::string_view message);

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
    static_assert((!is_secret_v<Args> && ...), "a secret must never be logged");
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}
}  // namespace detail

template <class... Args>
void log(LogLevel level, const Args&... args) {
    if (level > log_level()) return;
    write_log_line(level, detail::concat(args...));
}
template <class... Args>
void log_error(const Args&... args) {
    log(LogLevel::Error, args...);
}
template <class... Args>
void log_warn(const Args&... args) {
    log(LogLevel::Warn, args...);
}
template <class... Args>
void log_info(const Args&... args) {
    log(LogLevel::Info, args...);
}
template <class... Args>
void log_debug(const Args&... args) {
    log(LogLevel::Debug, args...);
}

}  // namespace keyfence::base
