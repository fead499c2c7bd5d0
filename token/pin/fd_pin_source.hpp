#pragma once
// --pin-fd N: one PIN, one line, read from an inherited file descriptor (like gpg's
// --passphrase-fd), for scripts and tests. The PIN goes byte by byte into locked memory.

#include "token/pin/pin_source.hpp"

namespace keyfence::token {

class FdPinSource final : public PinSource {
  public:
    /// `assume_confirmed`: --assume-confirmed, the non-interactive confirmation of each
    /// operation (pin.confirm_each_operation); without it confirm() refuses.
    explicit FdPinSource(int fd, bool assume_confirmed = false)
        : m_fd(fd), m_assume_confirmed(assume_confirmed) {}

    /// Reads up to the first newline (a trailing CR is dropped). One PIN per run: a second
    /// request is refused, so a PIN is never resubmitted. Errors: Io, PinInvalid (too long).
    base::Result<base::Pin> ask(const PinRequest& request) override;
    void use_pin_pad(const PinRequest& request) override;
    /// No one can be asked on a file descriptor: confirmed only with --assume-confirmed.
    base::Status confirm(const PinRequest& request) override;

  private:
    int m_fd;
    bool m_assume_confirmed = false;
    bool m_used = false;
};

}  // namespace keyfence::token
