#pragma once
// S/MIME decryption of a message in a file, in constant memory, in the two phases of
// decrypt.hpp:
//   1. prepare_file_decryption(): parse the message (GMime, file-backed), decode the CMS part to
//      a temporary file while hashing it, read its RecipientInfos with the incremental BER
//      reader (stream_der.hpp) and check that it is encrypted to the key. No key.
//   2. finish_file_decryption(): one private-key operation unwraps the content key (OpenSSL,
//      CMS_decrypt with the encrypted content as a detached, streamed BIO); the plaintext goes to
//      a temporary file and is used only when the whole content decrypted and, for
//      AES-GCM, the tag verified. Then the output message is written through `out`.
// A signed entity inside is verified from the plaintext's temporary file, in constant memory
// (verify_entity_file).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/cms_handles.hpp"
#include "mail/smime/stream_der.hpp"
#include "mail/smime/stream_io.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::mail::smime {

struct PreparedFileDecryption {
    mime::Message message;
    TempFile der;  ///< the decoded CMS structure
    EnvelopedSkeleton skeleton;
    CmsPtr cms;  ///< the skeleton, parsed
    bool authenticated = false;
    std::string structure;
    std::uint64_t encrypted_size = 0;
    std::vector<std::uint8_t> sha256;  ///< of the CMS structure, for the prompt
};

struct FileDecryptResult {
    bool authenticated = false;
    std::string structure;
    std::optional<VerifyResult> signature;
};

/// Phase 1. Errors: as prepare_decryption(), Io.
base::Result<PreparedFileDecryption> prepare_file_decryption(const std::string& path,
                                                             X509* recipient,
                                                             const ProgressFn& progress = {});

/// Which of `candidates` (certificates of the user's keys) a RecipientInfo of the encrypted
/// message in the file at `path` names, as indexes in order. No key is used; only the head of
/// the envelope is decoded (envelope_head.hpp: recipients_among, for a part already parsed).
/// Errors: as prepare_file_decryption(), but never KeyNotFound.
base::Result<std::vector<std::size_t>> file_recipients_among(const std::string& path,
                                                             const std::vector<X509*>& candidates);

/// Phase 2: one private-key operation with `key`; writes the output message (outer headers
/// around the decrypted entity, CRLF) to `out`. Errors: BadInput "decryption failed" for every
/// failure of the data (nothing has been written to `out` then), Io, `out`'s.
base::Result<FileDecryptResult> finish_file_decryption(
    PreparedFileDecryption& prepared, EVP_PKEY* key, X509* recipient, const VerifyOptions& verify,
    const std::function<base::Status(std::string_view)>& out, const ProgressFn& progress = {});

}  // namespace keyfence::mail::smime
