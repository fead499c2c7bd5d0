#pragma once
// PGP/MIME and inline OpenPGP verification (RFC 3156 §5, RFC 4880 §7): the signature over the
// exact bytes received, the signer's key and its validity at the time of verification, and the
// binding of the signer to the message's single From: address. Strict by construction, with
// the rules S/MIME uses ("Johnny, you are fired", USENIX Security 2019): a message verifies
// only when its body entity is the signed entity (mail/mime/coverage.hpp) and covers all of
// it, every signature is good, and every signer is the message's one From: mailbox
// (mail/mime/sender.hpp). Anything else is a result that says which part is signed, by whom,
// and why the message as a whole is not.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/sender.hpp"
#include "mail/pgp/context.hpp"

namespace keyfence::mail::pgp {

struct VerifyOptions {
    /// Verify as of this time (seconds since the epoch) instead of now: archived mail. Key and
    /// signature expiry are judged at this time; a signature made after it does not verify.
    std::optional<std::int64_t> at;
};

struct SignatureInfo {
    std::string fingerprint;  ///< of the signing (sub)key, as gpg reports it
    std::string primary;      ///< of its primary key, when the key is in the keyring
    std::string status;       ///< gpg's status: "Success", "Bad signature", ...
    bool good = false;        ///< the signature matches the content
    bool key_known = false;   ///< the key is in the keyring
    bool key_revoked = false;
    bool key_expired = false;            ///< at the time of verification
    std::string key_expires;             ///< UTC ISO 8601, or "" for never
    bool signature_expired = false;      ///< at the time of verification
    std::string signature_expires;       ///< UTC ISO 8601, or ""
    bool made_after_at = false;          ///< created after the time of verification (--at)
    std::string validity;                ///< of the key: "unknown", "marginal", "full", ...
    std::vector<std::string> uids;       ///< the key's valid user IDs
    std::vector<std::string> addresses;  ///< their addresses, lower case
    std::string created;                 ///< signature time, UTC ISO 8601
    std::string hash;                    ///< "SHA256", ...
};

/// A signed entity of the message with its own signers, so that the report can say which part
/// is signed by whom.
struct SignedPartResult {
    std::string path;     ///< IMAP part number; "" is the whole body
    std::string type;     ///< "multipart/signed", "text/plain", ...
    std::string context;  ///< "attachment", "Content-ID reference", "inline signed block", ...
    std::vector<SignatureInfo> signers;
    std::string problem;  ///< why it does not count (alone or as the message), or ""
};

struct VerifyResult {
    std::string format;  ///< "multipart/signed", "inline" or "" when not signed as a whole
    /// Signers of a signature over the whole body; empty when the body is not signed.
    std::vector<SignatureInfo> signers;
    std::vector<std::string> from_addresses;
    std::string from_text;    ///< the From: field as written (decoded)
    std::string sender_text;  ///< the Sender: field, or ""
    bool from_matches = false;
    std::string coverage = "none";               ///< "whole", "partial" or "none"
    std::vector<SignedPartResult> signed_parts;  ///< every signed entity, the body's included
    std::vector<std::pair<std::string, std::string>> unsigned_parts;  ///< (path, what)
    std::string at;       ///< the time of verification, ISO 8601 UTC
    std::string content;  ///< the signed content (CRLF) when it verified; else empty
    /// Empty when it verified; else a stable snake_case code (docs/pgp.md) and the reason.
    std::string failure_code;
    std::string failure;
    bool verified() const noexcept { return failure.empty(); }
};

/// Verifies a whole message. Errors: BadInput (not a message; a limit of docs/limits.md
/// exceeded). A message that is not signed, signed in part, or whose signature does not
/// verify is a result with `failure` set, not an error.
base::Result<VerifyResult> verify_message(Context& ctx, std::string_view message,
                                          const VerifyOptions& options = {});

/// Receives the signed content as it is verified (for `verify --out`).
using ContentSink = std::function<void(std::string_view)>;

/// Verifies the message in the file at `path`. A multipart/signed body is verified in constant
/// memory: its signed part streams from the file into gpg and on to `content` (when set), and
/// the result's `content` stays empty; the caller must discard what `content` received unless
/// the result verified. Other messages (inline blocks, partly signed ones) are read into memory
/// and their verified content handed to `content` at the end. Errors: as verify_message(), Io.
base::Result<VerifyResult> verify_message_file(Context& ctx, const std::string& path,
                                               const VerifyOptions& options,
                                               ContentSink content = {});

/// The signers of gpg's last verification on `ctx` (after verify or decrypt-verify), with
/// expiry judged at `at` (now when unset).
std::vector<SignatureInfo> collect_signatures(Context& ctx,
                                              std::optional<std::int64_t> at = std::nullopt);

/// One signature as gpg reported it: GPGME's gpgme_signature_t, or what gpg's status lines
/// say when Keyfence runs gpg itself (mail/pgp/decrypt_status.hpp).
struct GpgSignature {
    std::string fingerprint;     ///< of the signing (sub)key; the long key id when gpg gave no more
    gpgme_error_t status = 0;    ///< as GPGME sets it: 0 good, BAD_SIGNATURE, KEY_EXPIRED, ...
    std::int64_t timestamp = 0;  ///< creation, seconds since the epoch
    std::int64_t expires = 0;    ///< the signature's expiry; 0: none
    int hash_algo = 0;           ///< OpenPGP hash algorithm id (RFC 4880 §9.4)
    gpgme_validity_t validity = GPGME_VALIDITY_UNKNOWN;
    bool key_revoked = false;  ///< GPGME's summary bit KEY_REVOKED
};

/// What the report says of `sig`: the key looked up in the keyring, expiry judged at `at` (now
/// when unset), exactly as collect_signatures() does.
SignatureInfo describe_signature(Context& ctx, const GpgSignature& sig,
                                 std::optional<std::int64_t> at = std::nullopt);

/// Sets `failure` from the signers and the message's From: and Sender: fields (for a result
/// whose signers cover all it reports, such as decrypted content): no signer, a missing key, a
/// bad signature, a revoked or expired key or signature, then the sender rules S/MIME uses
/// (mail/mime/sender.hpp): one From: mailbox, no other Sender:, every signer carrying its
/// address, a display name the signer's user IDs carry.
void judge(VerifyResult& result, const mime::SenderHeaders& sender);

}  // namespace keyfence::mail::pgp
