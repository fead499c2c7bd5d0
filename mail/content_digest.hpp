#pragma once
// Hashing content in one streaming pass, in constant memory.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace keyfence::mail {

struct ContentDigest {
    std::string algorithm;             ///< "sha256", "sha384", "sha512"
    std::vector<std::uint8_t> digest;  ///< of the content, in `algorithm`
    std::vector<std::uint8_t> sha256;  ///< always: what prompts and the audit log show
    std::uint64_t size = 0;            ///< bytes read
};

/// Reads `path` ("-" or empty: standard input) once, hashing it with `algorithm` and SHA-256,
/// with a progress line on a terminal. Errors: Io, Usage (unknown algorithm).
base::Result<ContentDigest> digest_content(const std::string& path, const std::string& algorithm);

}  // namespace keyfence::mail
