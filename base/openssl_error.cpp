#include "base/openssl_error.hpp"

#include <openssl/err.h>

namespace keyfence::base {

Error openssl_error(ErrorCode code, std::string context) {
    unsigned long first = 0;
    std::string reasons;
    while (unsigned long e = ERR_get_error()) {
        if (first == 0) first = e;
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!reasons.empty()) reasons += "; ";
        reasons += buf;
    }
    Error error(code, std::move(context));
    error.from(Origin::OpenSsl, first, reasons.empty() ? "OpenSSL gave no reason" : reasons);
    return error;
}

void clear_openssl_errors() noexcept {
    ERR_clear_error();
}

}  // namespace keyfence::base
