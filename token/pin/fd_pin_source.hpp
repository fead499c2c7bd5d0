#pragma once
// --pin-fd N: one PIN, one line, read from an inherited file descriptor (like gpg's
// --passphrase-fd), for scripts and tests. The PIN goes byte by byte into locked memory.

#include "token/pin/pin_source.hpp"

namespace keyfence::token {

class FdPinSource final : public PinSource {
  public:
    explicit FdPinSource(int fd) : m_fd(fd) {}

    /// Reads up to the first newline (a trailing CR is dropped). One PIN per run: a second
    /// request is refused, so a PIN is never resubmitted. Errors: Io, PinInvalid (too long).
    base::Result<base::Pin> ask(const PinRequest& request) override;
    void use_pin_pad(const PinRequest& request) override;

  private:
    int m_fd;
    bool m_used = false;
};

}  // namespace keyfence::token
