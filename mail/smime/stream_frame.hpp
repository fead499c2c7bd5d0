#pragma once
// The output message around a streamed application/pkcs7-mime part (RFC 8551 §3.2): GMime
// writes the message with a placeholder part; the output is everything before the placeholder's
// base64 line, the streamed CMS (base64, CRLF lines), and everything after it. Used by
// streaming encryption and opaque signing.

#include <string>

#include "base/result.hpp"
#include "mail/mime/message.hpp"

namespace keyfence::mail::smime {

struct PartFrame {
    std::string head;  ///< up to and including the part's header block and its blank line
    std::string tail;  ///< from the line after the content on
};

/// Replaces the body of `message` with the placeholder part (`smime_type`: "enveloped-data",
/// "authEnveloped-data", "signed-data") and cuts its serialisation (CRLF). The caller holds a
/// reference to the old body if it still needs it. Errors: Internal.
base::Result<PartFrame> pkcs7_mime_frame(mime::Message& message, const char* smime_type);

}  // namespace keyfence::mail::smime
