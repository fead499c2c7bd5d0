#pragma once
// The MIME pieces of RFC 3156, built and read with GMime.

#include <string>
#include <string_view>

#include "mail/mime/gmime.hpp"

namespace keyfence::mail::pgp {

/// A 7bit leaf part `application/<subtype>` holding ASCII-armored `armored` text, as RFC 3156
/// §4 and §5 want for application/pgp-signature and the encrypted octet-stream.
mime::GPtr<GMimeObject> armored_part(const char* subtype, std::string_view armored);

/// A Content-Type parameter of `object` in lower case, or "".
std::string lower_param(GMimeObject* object, const char* name);

}  // namespace keyfence::mail::pgp
