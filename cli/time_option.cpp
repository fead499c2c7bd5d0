#include "cli/time_option.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace keyfence::cli {

base::Result<std::int64_t> parse_time(const std::string& text) {
    const base::Error bad(base::ErrorCode::Usage, "--at: cannot read the time " + text,
                          "give 2020-06-01, 2020-06-01T12:00:00Z, 2020-06-01T14:00+02:00 or "
                          "@1590969600");
    if (!text.empty() && text[0] == '@') {
        char* end = nullptr;
        const long long v = std::strtoll(text.c_str() + 1, &end, 10);
        if (end == text.c_str() + 1 || *end != '\0') return bad;
        return static_cast<std::int64_t>(v);
    }
    struct tm tm {};
    int consumed = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &consumed) != 3) {
        return bad;
    }
    const char* rest = text.c_str() + consumed;
    long offset = 0;
    if (*rest == 'T' || *rest == 't' || *rest == ' ') {
        int n = 0;
        if (std::sscanf(rest + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2) return bad;
        rest += 1 + n;
        if (*rest == ':') {
            if (std::sscanf(rest + 1, "%2d%n", &tm.tm_sec, &n) != 1) return bad;
            rest += 1 + n;
        }
        if (*rest == 'Z' || *rest == 'z') {
            ++rest;
        } else if (*rest == '+' || *rest == '-') {
            int oh = 0, om = 0;
            if (std::sscanf(rest + 1, "%2d:%2d%n", &oh, &om, &n) != 2) return bad;
            offset = (*rest == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
            rest += 1 + n;
        }
    }
    if (*rest != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
        return bad;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

}  // namespace keyfence::cli
