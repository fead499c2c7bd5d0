#pragma once
// S/MIME verification (RFC 8551 §3.5, RFC 5652 §5.6): the signature over the exact bytes
// received, the signer's chain, validity and usage (RFC 8550), and the binding of the signer to
// the From: header. Only a signature over the whole body counts: a signed part nested inside an
// unsigned multipart is reported as such, never as a signed message ("Johnny, you are fired").

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/smime/certificate.hpp"

namespace keyfence::mail::smime {

struct VerifyOptions {
    /// Trust anchors (PEM files). Empty: the system trust store (OpenSSL's default paths).
    std::vector<std::string> ca_files;
};

struct SignerResult {
    CertificateFacts certificate;
    std::string signing_time;         ///< ISO 8601 UTC, from the signingTime attribute
    std::string digest_algorithm;     ///< "sha256"
    std::string signature_algorithm;  ///< "rsaEncryption", "RSASSA-PSS", "ecdsa-with-SHA256"
    bool signature_valid = false;     ///< over the signed attributes and the content digest
    bool chain_valid = false;         ///< to a trust anchor, dates, key usage, emailProtection
    std::string chain_error;          ///< why the chain failed, in OpenSSL's words
    base::X509Ptr cert;
};

struct VerifyResult {
    std::string format;  ///< "multipart/signed" or "application/pkcs7-mime signed-data"
    std::vector<SignerResult> signers;
    std::vector<std::string> from_addresses;  ///< of the message's From: header
    bool from_matches = false;  ///< exactly one From: address, and a signer's certificate has it
    std::string content;        ///< the signed entity (canonical bytes)
    /// Empty when the message verified; otherwise the first reason it did not, in words.
    std::string failure;

    bool verified() const noexcept { return failure.empty(); }
};

/// Verifies a whole message. Errors: BadInput (not MIME, broken CMS); a message that is not
/// signed at all, or signed only in part, is a result with a failure (the caller exits 1).
base::Result<VerifyResult> verify_message(std::string_view message, const VerifyOptions& options);

/// Receives the signed content as it is verified (for `verify --out`).
using ContentSink = std::function<void(std::string_view)>;

/// Verifies the message in the file at `path`. A multipart/signed message is verified in
/// constant memory: its signed part streams from the file into CMS_verify and on to `content`
/// (when set), and the result's `content` stays empty; the caller must discard what `content`
/// received unless the result verified. Opaque signed-data is read into memory (OpenSSL parses
/// CMS whole) and its content handed to `content` at the end. Errors: as verify_message(), Io.
base::Result<VerifyResult> verify_message_file(const std::string& path,
                                               const VerifyOptions& options,
                                               ContentSink content = {});

/// True when the entity's top-level type is S/MIME signed (multipart/signed with a PKCS#7
/// protocol, or application/pkcs7-mime signed-data).
bool is_signed_entity(std::string_view entity);

/// Verifies a signed MIME entity (headers and body), such as a decrypted one, against the
/// outer message's From: addresses. Errors as verify_message.
base::Result<VerifyResult> verify_entity(std::string_view entity,
                                         const std::vector<std::string>& from_addresses,
                                         const VerifyOptions& options);

}  // namespace keyfence::mail::smime
