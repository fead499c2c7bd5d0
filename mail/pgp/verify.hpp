#pragma once
// PGP/MIME verification (RFC 3156 §5): the signature over the exact bytes received, the
// signer's key and its validity, and the binding of the signer to the message's single From:
// address. A valid signature by someone else than the From: address does not verify.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/sender.hpp"
#include "mail/pgp/context.hpp"

namespace keyfence::mail::pgp {

struct SignatureInfo {
    std::string fingerprint;  ///< of the signing key (as gpg reports it)
    std::string status;       ///< gpg's status: "Success", "Bad signature", ...
    bool good = false;        ///< the signature matches the content
    bool key_known = false;   ///< the key is in the keyring
    bool key_revoked = false;
    bool key_expired = false;
    std::string validity;                ///< of the key: "unknown", "marginal", "full", ...
    std::vector<std::string> uids;       ///< the key's valid user IDs
    std::vector<std::string> addresses;  ///< their addresses, lower case
    std::string created;                 ///< signature time, UTC ISO 8601
    std::string hash;                    ///< "SHA256", ...
};

struct VerifyResult {
    std::string format;  ///< "multipart/signed", "inline" or "" when unsigned
    std::vector<SignatureInfo> signers;
    std::vector<std::string> from_addresses;
    bool from_matches = false;
    std::string content;  ///< the signed entity exactly as received (CRLF)
    std::string failure;  ///< why it did not verify; empty when it did
    bool verified() const noexcept { return failure.empty(); }
};

/// A message's RFC 3156 signed body, cut from the bytes received; no gpg involved.
struct SignedBody {
    std::vector<std::string> from_addresses;
    mime::SenderHeaders sender;   ///< From: and Sender: fields, for the shared sender rules
    bool inline_signed = false;   ///< a text/plain body that is one cleartext-signed block
    std::string content;          ///< the first part exactly as received (CRLF)
    std::string signature;        ///< the armored signature (inline: the whole signed block)
    std::string unsigned_reason;  ///< set when the body is not signed as a whole
};

/// The signed body of `message`. Errors: BadInput (not a message; a malformed
/// multipart/signed). A message that is not signed as a whole has unsigned_reason set.
base::Result<SignedBody> parse_signed(std::string_view message);

/// Verifies a whole message. Errors: BadInput (not a message; a malformed multipart/signed).
/// A signature that does not verify is a result with `failure` set, not an error.
base::Result<VerifyResult> verify_message(Context& ctx, std::string_view message);

/// The signers of gpg's last verification on `ctx` (after verify or decrypt-verify).
std::vector<SignatureInfo> collect_signatures(Context& ctx);

/// Sets `failure` from the signers and the From: addresses: no signer, a bad signature, a
/// missing, revoked or expired key, not exactly one From: address, or a From: address that is
/// none of the signer's user IDs.
void judge(VerifyResult& result);

/// As above, with the message's From: and Sender: fields judged by the rules S/MIME uses
/// (mail/mime/sender.hpp): one From: mailbox, no other Sender:, a display name the signer's
/// user IDs carry.
void judge(VerifyResult& result, const mime::SenderHeaders& sender);

}  // namespace keyfence::mail::pgp
