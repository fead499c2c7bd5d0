#include "engine/audit/audit_time.hpp"

#include <cstdio>
#include <ctime>
#include <regex>

namespace keyfence::engine::audit {

std::string format_time(std::chrono::system_clock::time_point when) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(when);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return text;
}

std::string utc_now() {
    return format_time(std::chrono::system_clock::now());
}

base::Result<std::string> parse_since(const std::string& text,
                                      std::chrono::system_clock::time_point now) {
    static const std::regex relative(R"(([0-9]{1,9})([smhd]))");
    static const std::regex absolute(
        R"(([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}:[0-9]{2})(:[0-9]{2})?)?Z?)");
    std::smatch m;
    if (std::regex_match(text, m, relative)) {
        const long n = std::stol(m[1]);
        const long unit = m[2] == "s" ? 1 : m[2] == "m" ? 60 : m[2] == "h" ? 3600 : 86400;
        return format_time(now - std::chrono::seconds(n * unit));
    }
    if (std::regex_match(text, m, absolute)) {
        std::string stamp = m[1].str() + "T" + (m[2].matched ? m[2].str() : "00:00") +
                            (m[3].matched ? m[3].str() : ":00") + ".000Z";
        return stamp;
    }
    return base::Error(base::ErrorCode::Usage, "--since '" + text + "' is not a time",
                       "use 2024-05-01, 2024-05-01T09:30[:15][Z] (UTC), or 90s, 15m, 2h, 7d");
}

}  // namespace keyfence::engine::audit
