#pragma once
#include <string>

namespace keyfence::cli {

/// "keyfence X.Y.Z" and the versions of the libraries it runs with (OpenSSL and GPGME as
/// loaded at run time; libp11, p11-kit and pcsc-lite as built against).
std::string version_text();

}  // namespace keyfence::cli
