#pragma once
// S/MIME verification (RFC 8551 §3.5, RFC 5652 §5.6): the signature over the exact bytes
// received, the signer's chain, validity and usage (RFC 8550), and the binding of the signer to
// the From: header. Strict by construction ("Johnny, you are fired", USENIX Security 2019): a
// message verifies only when its body entity is the signed entity (mail/mime/coverage.hpp),
// every SignerInfo verifies (none is no signature), the content shown is the content signed,
// and every signer is the message's one From: mailbox (mail/mime/sender.hpp).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/mime/sender.hpp"
#include "mail/smime/certificate.hpp"

namespace keyfence::mail::smime {

struct VerifyOptions {
    /// Trust anchors (PEM files). Empty: the system trust store (OpenSSL's default paths).
    std::vector<std::string> ca_files;
    /// Intermediate certificates (PEM files) that may help build a chain; never anchors.
    std::vector<std::string> untrusted_files;
    /// Verify as of this time (seconds since the epoch) instead of now: archived mail.
    std::optional<std::int64_t> at;
};

struct SignerResult {
    CertificateFacts certificate;
    std::string signing_time;         ///< ISO 8601 UTC, from the signingTime attribute
    std::string digest_algorithm;     ///< "sha256"
    std::string signature_algorithm;  ///< "rsaEncryption", "RSASSA-PSS", "ecdsa-with-SHA256"
    bool signature_valid = false;     ///< over the signed attributes and the content digest
    bool chain_valid = false;         ///< to a trust anchor, dates, key usage, emailProtection
    std::string chain_error;          ///< why the chain failed, in OpenSSL's words
    bool expired = false;             ///< the certificate (or chain) had expired at the time
    std::vector<std::string> names;   ///< subject CN, pseudonym, "givenName surname"
    base::X509Ptr cert;
};

/// A signed entity found in the message, with its own signers (for parts below the body, so
/// that the report can say which part is signed by whom).
struct SignedPartResult {
    std::string path;     ///< IMAP part number; "" is the whole body
    std::string type;     ///< "multipart/signed", ...
    std::string context;  ///< "attachment", "Content-ID reference", ... or ""
    std::vector<SignerResult> signers;
    std::string problem;  ///< why its own signature is unusable, or ""
};

struct VerifyResult {
    std::string format;  ///< "multipart/signed" or "application/pkcs7-mime signed-data"
    /// Signers of a signature over the whole body; empty when the body is not signed.
    std::vector<SignerResult> signers;
    std::vector<std::string> from_addresses;  ///< of the message's From: header(s)
    std::string from_text;                    ///< the From: field as written (decoded)
    std::string sender_text;                  ///< the Sender: field, or ""
    bool from_matches = false;  ///< one From: mailbox, and every signer is that sender
    /// "whole", "partial" (signed entities below the body only) or "none".
    std::string coverage = "none";
    std::vector<SignedPartResult> signed_parts;  ///< every signed entity, the body's included
    std::vector<std::pair<std::string, std::string>> unsigned_parts;  ///< (path, type)
    std::string at;       ///< the time of verification, ISO 8601 UTC
    std::string content;  ///< what the signature covers: the signed entity, or the eContent
    /// Empty when the message verified; otherwise a stable snake_case code (docs/smime.md) and
    /// the reason in words.
    std::string failure_code;
    std::string failure;

    bool verified() const noexcept { return failure.empty(); }
};

/// Verifies a whole message. Errors: BadInput (not MIME, broken CMS); a message that is not
/// signed at all, or signed only in part, is a result with a failure (the caller exits 1).
base::Result<VerifyResult> verify_message(std::string_view message, const VerifyOptions& options);

/// Receives the signed content as it is verified (for `verify --out`).
using ContentSink = std::function<void(std::string_view)>;

/// Verifies the message in the file at `path`, in constant memory: the signed content of a
/// multipart/signed streams from the file, and the eContent of opaque signed-data from a
/// temporary file holding the decoded CMS (stream_der.hpp), into the digests and on to `content`
/// (when set); the result's `content` then stays empty, and the caller must discard what
/// `content` received unless the result verified. Opaque signed-data that the streaming reader
/// does not take (no eContent, not BER) is checked in memory and its content handed to
/// `content` at the end. Errors: as verify_message(), Io.
base::Result<VerifyResult> verify_message_file(const std::string& path,
                                               const VerifyOptions& options,
                                               ContentSink content = {});

/// verify_entity() in constant memory, for an entity that fills the file at `path` (a
/// decrypted one) and that `entity` is parsed from, file-backed (mime::parse_entity_file):
/// its signed content streams from the file as in verify_message_file(). Errors: as
/// verify_message_file().
base::Result<VerifyResult> verify_entity_file(GMimeObject* entity, const std::string& path,
                                              const mime::SenderHeaders& sender,
                                              const VerifyOptions& options);

/// True when the entity's top-level type is S/MIME signed (multipart/signed with a PKCS#7
/// protocol, or application/pkcs7-mime signed-data).
bool is_signed_entity(std::string_view entity);

/// Verifies a signed MIME entity (headers and body), such as a decrypted one, against the
/// outer message's From: addresses. Errors as verify_message.
base::Result<VerifyResult> verify_entity(std::string_view entity,
                                         const std::vector<std::string>& from_addresses,
                                         const VerifyOptions& options);

/// As above, with the outer message's From: and Sender: fields (mime::sender_headers), so that
/// display names, Sender: and repeated From: fields are judged as for a whole message.
base::Result<VerifyResult> verify_entity(std::string_view entity, const mime::SenderHeaders& sender,
                                         const VerifyOptions& options);

}  // namespace keyfence::mail::smime
