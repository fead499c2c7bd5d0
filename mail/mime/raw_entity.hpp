#pragma once
// The exact bytes of a multipart's first body part, cut from the bytes received. A verifier
// must check the signature over what arrived, not over GMime's re-serialisation of it: the two
// differ for some malformed input, and a signature must never cover something else than what
// the user is shown as signed.

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace keyfence::mail::mime {

/// Given the bytes of a whole multipart entity (its header block and body) and the boundary
/// GMime parsed from its Content-Type, returns the first body part: the bytes after the first
/// delimiter line up to the CRLF (or LF) that precedes the next delimiter (RFC 2046 §5.1.1),
/// with bare LF line ends made CRLF (RFC 8551 §3.1.1 canonical form). Errors: BadInput when
/// the delimiters are not there.
base::Result<std::string> first_body_part(std::string_view entity, std::string_view boundary);

/// `bytes` with every bare LF made CRLF.
std::string to_crlf(std::string_view bytes);

}  // namespace keyfence::mail::mime
