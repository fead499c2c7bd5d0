#include "token/pin/fd_pin_source.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace keyfence::token {

base::Result<base::Pin> FdPinSource::ask(const PinRequest&) {
    if (m_used) {
        return base::Error(base::ErrorCode::Usage,
                           "a second PIN was needed, but --pin-fd gives one PIN per run",
                           "run one operation per command when using --pin-fd");
    }
    m_used = true;
    base::Pin pin;
    for (;;) {
        std::uint8_t byte = 0;
        const ssize_t n = ::read(m_fd, &byte, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return base::system_error(
                base::ErrorCode::Io, "could not read the PIN from --pin-fd " + std::to_string(m_fd),
                errno);
        }
        if (n == 0 || byte == '\n') break;
        if (!pin.push_back(byte)) {
            return base::Error(base::ErrorCode::PinInvalid,
                               "the PIN on --pin-fd is longer than " +
                                   std::to_string(base::Pin::k_max_length) + " bytes");
        }
    }
    if (!pin.empty() && pin.bytes().back() == '\r') pin.pop_back();
    return pin;
}

void FdPinSource::use_pin_pad(const PinRequest& request) {
    std::fprintf(stderr, "%s\nEnter the PIN on the token's PIN pad.\n",
                 request.description().c_str());
}

base::Status FdPinSource::confirm(const PinRequest&) {
    if (m_assume_confirmed) return {};
    return confirmation_refused("--pin-fd cannot ask for one and --assume-confirmed was not given");
}

}  // namespace keyfence::token
