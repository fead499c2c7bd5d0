#pragma once
// The standard pinentry program over the Assuan protocol (libassuan), as GnuPG uses it. All of
// libassuan's memory for the connection, including its line buffers that carry the PIN, is on
// OpenSSL's secure heap and wiped when freed.

#include <string>

#include "token/pin/pin_source.hpp"

namespace keyfence::token {

class PinentryPinSource final : public PinSource {
  public:
    /// `program`: the pinentry to run ("pinentry" finds the system default on PATH).
    explicit PinentryPinSource(std::string program) : m_program(std::move(program)) {}

    /// Runs the pinentry once: SETTITLE, SETDESC (token, key, operation, message), SETPROMPT,
    /// SETERROR with the PIN state, GETPIN. Errors: Cancelled, Io (pinentry failed to start).
    base::Result<base::Pin> ask(const PinRequest& request) override;
    /// Tells the user on stderr to use the PIN pad.
    void use_pin_pad(const PinRequest& request) override;
    /// Runs the pinentry once: SETTITLE, SETDESC (what is to be confirmed), SETOK, CONFIRM.
    /// Errors: Cancelled (declined, closed), Io (pinentry failed to start).
    base::Status confirm(const PinRequest& request) override;

  private:
    std::string m_program;
};

/// Percent-escapes text for an Assuan command line (%, CR, LF and control characters).
std::string assuan_escape(const std::string& text);

}  // namespace keyfence::token
