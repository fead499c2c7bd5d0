#pragma once
// S/MIME encryption (RFC 8551 §3.3) of a message in a file, in constant memory and one pass:
// GMime writes the canonical body entity (file-backed) straight into OpenSSL's streaming CMS
// BIO (BIO_new_CMS, BER with indefinite lengths), whose output is base64-encoded (Base64Writer,
// CRLF lines) into the output between the message's head and tail, which GMime wrote around a
// placeholder part (stream_frame.hpp). No private key is used.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/smime/encrypt.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {

/// Encrypts the body of the message in the file at `path` to `recipients` and writes the
/// whole output message (outer headers kept, CRLF) to `out` in pieces; the caller keeps it
/// from appearing unless this succeeds (base::AtomicOutput). Errors: as encrypt_message(),
/// Io, and `out`'s.
base::Status encrypt_file(const std::string& path, const std::vector<base::X509Ptr>& recipients,
                          const EncryptOptions& options,
                          const std::function<base::Status(std::string_view)>& out,
                          const ProgressFn& progress = {});

}  // namespace keyfence::mail::smime
