#pragma once
// The MIME pieces of RFC 3156, built and read with GMime.

#include <string>
#include <string_view>
#include <utility>

#include "base/result.hpp"
#include "mail/mime/gmime.hpp"
#include "mail/mime/message.hpp"

namespace keyfence::mail::pgp {

/// A 7bit leaf part `application/<subtype>` holding ASCII-armored `armored` text, as RFC 3156
/// §4 and §5 want for application/pgp-signature and the encrypted octet-stream.
mime::GPtr<GMimeObject> armored_part(const char* subtype, std::string_view armored);

/// An empty RFC 3156 §5 multipart/signed (protocol "application/pgp-signature") with a fresh
/// random boundary, fixed from now on.
mime::GPtr<GMimeObject> multipart_signed();

/// The application/pgp-signature part (name "signature.asc") holding `signature`.
mime::GPtr<GMimeObject> signature_part(const std::string& signature);

/// The output message around the signed part of `multipart` (a multipart/signed with two
/// parts, the first a placeholder), as GMime writes `message` with it as the body: up to and
/// including the first delimiter line, and from the line end before the second delimiter on.
/// Sets `message`'s body to `multipart`. Errors: Internal.
base::Result<std::pair<std::string, std::string>> signed_frame(mime::Message& message,
                                                               GMimeObject* multipart);

/// A Content-Type parameter of `object` in lower case, or "".
std::string lower_param(GMimeObject* object, const char* name);

}  // namespace keyfence::mail::pgp
