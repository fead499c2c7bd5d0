#pragma once
// S/MIME signing (RFC 8551 §3.5) of a message in a file, in constant memory, in the same two
// phases as sign.hpp:
//   1. prepare_file_signature(): parse the file (GMime, file-backed), then write the output
//      message's head and the canonical body entity through `out`, hashing the body as it goes:
//      what is signed is, by construction, exactly the bytes hashed. No key.
//      - multipart/signed (RFC 8551 §3.5.3): 8-bit parts transfer-encoded, "From " armoured;
//        the head is the outer headers, the multipart/signed header and the first delimiter,
//        then the body entity as it is.
//      - opaque signed-data (§3.5.2, options.opaque): the head is the outer headers and the
//        application/pkcs7-mime part's header; the body entity goes out inside BER SignedData
//        (stream_signed_data.hpp), base64 encoded.
//   2. finish_file_signature(): one private-key operation over the signed attributes, then
//      the rest of the output (the signature part and the close delimiter; or the SignedData's
//      certificates and SignerInfo, and the end of the message).
// One pass over the content. Memory: GMime's parser buffers, 1 MiB blocks, the CMS signature;
// never the content. `out` must keep what it got from being seen until phase 2 succeeded
// (base::AtomicOutput).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/sign.hpp"
#include "mail/smime/stream_base64.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {

using OutputFn = std::function<base::Status(std::string_view)>;

struct PreparedFileSignature {
    mime::Message message;
    mime::GPtr<GMimeObject> multipart;  ///< multipart/signed around placeholder parts (detached)
    std::string boundary;               ///< (detached)
    std::string ber_head;               ///< what opened the SignedData (opaque)
    std::string frame_tail;             ///< what follows the pkcs7-mime part (opaque)
    std::unique_ptr<Base64Writer> encoded;  ///< the SignedData's base64, pending (opaque)
    std::uint64_t content_size = 0;         ///< of the canonical body entity: what is signed
    std::vector<std::uint8_t> digest;       ///< of the content in options.hash
    std::vector<std::uint8_t> sha256;       ///< of the content, for the prompt
    SignOptions options;
};

/// Phase 1 for the file at `path`: writes the output up to the end of the signed content to
/// `out`. Errors: BadInput (not a message), Usage (unknown hash), Io, Internal, and `out`'s.
base::Result<PreparedFileSignature> prepare_file_signature(const std::string& path,
                                                           const SignOptions& options,
                                                           const OutputFn& out,
                                                           const ProgressFn& progress = {});

/// Phase 2: writes the rest of the output message (CRLF) to `out`. Errors: those of
/// build_signed_data(), ModuleFailure (the signature does not verify with `signer`),
/// Internal, and `out`'s.
base::Status finish_file_signature(PreparedFileSignature& prepared, EVP_PKEY* key, X509* signer,
                                   const std::vector<base::X509Ptr>& chain, const OutputFn& out);

}  // namespace keyfence::mail::smime
