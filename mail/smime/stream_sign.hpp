#pragma once
// Detached S/MIME signing (multipart/signed, RFC 8551 §3.5) of a message in a file, in
// constant memory, in the same two phases as sign.hpp:
//   1. prepare_file_signature(): parse the file (GMime, file-backed), transfer-encode 8-bit
//      parts, write the canonical body entity to a temporary file while hashing it. No key.
//   2. finish_file_signature(): one private-key operation over the signed attributes, then
//      the output message is written through `out` while the signed part is cut from it again
//      and its SHA-256 compared with phase 1's, so that what was written is what was signed.
// Memory: GMime's parser buffers, 1 MiB write blocks, the CMS signature; never the content.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/sign.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {

/// Told how many bytes of a phase are done, for a progress line.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct PreparedFileSignature {
    mime::Message message;
    TempFile content;  ///< the canonical body entity; what is signed
    std::uint64_t content_size = 0;
    std::vector<std::uint8_t> digest;  ///< of the content in options.hash
    std::vector<std::uint8_t> sha256;  ///< of the content, for the prompt
    SignOptions options;
};

/// Phase 1 for the file at `path` (`options.opaque` must be false). Errors: BadInput (not a
/// message), Usage (unknown hash, opaque), Io.
base::Result<PreparedFileSignature> prepare_file_signature(const std::string& path,
                                                           const SignOptions& options,
                                                           const ProgressFn& progress = {});

/// Phase 2. Writes the whole output message (CRLF) to `out` in pieces; the caller keeps it
/// from appearing unless this succeeds (base::AtomicOutput). Errors: those of
/// build_signed_data(), ModuleFailure (the signature does not verify with `signer`), Internal
/// (GMime wrote other bytes than were signed), and `out`'s.
base::Status finish_file_signature(PreparedFileSignature& prepared, EVP_PKEY* key, X509* signer,
                                   const std::vector<base::X509Ptr>& chain,
                                   const std::function<base::Status(std::string_view)>& out,
                                   const ProgressFn& progress = {});

}  // namespace keyfence::mail::smime
