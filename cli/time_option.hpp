#pragma once
// The time option of `smime verify --at`, `pgp verify --at` and `mail open --at`: archived
// mail verified as of a given time.

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace keyfence::cli {

/// "@EPOCH", "YYYY-MM-DD" (00:00 UTC), or "YYYY-MM-DDTHH:MM[:SS]" with "Z", "+HH:MM" or
/// "-HH:MM" (none: UTC); a space may stand for the "T" (ISO 8601 / RFC 3339). Returns seconds
/// since the epoch. Errors: Usage (exit 2) naming the accepted forms.
base::Result<std::int64_t> parse_time(const std::string& text);

/// The help text of an --at option.
inline constexpr const char* k_at_help =
    "Verify as of this time: 2020-06-01, 2020-06-01T12:00:00Z or @EPOCH";

}  // namespace keyfence::cli
