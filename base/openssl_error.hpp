#pragma once
// Turns OpenSSL's thread-local error queue into an Error, draining the queue.

#include <string>

#include "base/error.hpp"

namespace keyfence::base {

/// Drains OpenSSL's error queue; returns an Error with `context` followed by the queued reasons.
/// The raw code is the first queued error (ERR_get_error). Thread-safe (the queue is per thread).
Error openssl_error(ErrorCode code, std::string context);

/// Drains and discards OpenSSL's error queue (after an expected failure).
void clear_openssl_errors() noexcept;

}  // namespace keyfence::base
