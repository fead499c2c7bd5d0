#include "base/logger.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <regex>

namespace keyfence::base {
namespace {
std::atomic<LogLevel> g_level{LogLevel::Warn};
std::mutex g_write_mutex;

std::string_view level_name(LogLevel level) {
    switch (level) {
        case LogLevel::Error:
            return "error";
        case LogLevel::Warn:
            return "warning";
        case LogLevel::Info:
            return "info";
        case LogLevel::Debug:
            return "debug";
    }
    return "info";
}
}  // namespace

void set_log_level(LogLevel level) noexcept {
    g_level = level;
}
LogLevel log_level() noexcept {
    return g_level;
}

std::string redact(std::string_view text) {
    // RFC 7512 pin-value/pin-source attributes, and "pin=..."/"passphrase=..." assignments.
    static const std::regex k_secret_field(
        R"(((?:pin-value|pin-source|pin|passphrase|password)\s*[=:]\s*)([^;&\s"']+))",
        std::regex::icase);
    return std::regex_replace(std::string(text), k_secret_field, "$1[redacted]");
}

void write_log_line(LogLevel level, std::string_view message) {
    const std::string line =
        "keyfence: " + std::string(level_name(level)) + ": " + redact(message) + "\n";
    std::lock_guard lock(g_write_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace keyfence::base
