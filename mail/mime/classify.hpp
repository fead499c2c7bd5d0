#pragma once
// What kind of protection an incoming message carries, and where: the first step of
// `keyfence mail open`. A message is protected as a whole only when its body entity itself is
// the signed or encrypted entity; protected parts found deeper, beside unprotected siblings, are
// reported with their MIME path so that the caller can say the message mixes protected and
// unprotected content (EFAIL direct exfiltration, "Johnny" MIME wrapping) and never joins them.

#include <string>
#include <vector>

#include "mail/mime/message.hpp"

namespace keyfence::mail::mime {

enum class Protection {
    SmimeSigned,         ///< multipart/signed, protocol application/pkcs7-signature
    SmimeOpaqueSigned,   ///< application/pkcs7-mime; smime-type=signed-data
    SmimeEncrypted,      ///< application/pkcs7-mime; smime-type=(auth)enveloped-data
    PgpSigned,           ///< multipart/signed, protocol application/pgp-signature
    PgpEncrypted,        ///< multipart/encrypted, protocol application/pgp-encrypted
    PgpInlineSigned,     ///< a text part holding -----BEGIN PGP SIGNED MESSAGE-----
    PgpInlineEncrypted,  ///< a text part holding -----BEGIN PGP MESSAGE-----
    UnknownSigned,       ///< multipart/signed with another or no protocol
    UnknownEncrypted,    ///< multipart/encrypted with another or no protocol
};

/// "smime-signed", "pgp-encrypted", ...: the name used in reports and JSON.
const char* protection_name(Protection protection);

struct ProtectedPart {
    Protection protection;
    /// The part's MIME path: "" for the body itself, else dot-separated 1-based child indexes
    /// from the body ("2", "1.3"), as IMAP numbers parts.
    std::string path;
};

struct Classification {
    /// Every protected part, outermost first, in document order; protected parts are not
    /// descended into (what they hold is known only after verifying or decrypting).
    std::vector<ProtectedPart> parts;
    /// True when some part of the message is protected and the body as a whole is not: text,
    /// HTML or attachments outside the protection travel with it.
    bool mixed = false;
    /// True when the body is exactly one protected entity.
    bool whole() const { return parts.size() == 1 && parts.front().path.empty(); }
    bool plain() const { return parts.empty(); }
};

/// Classifies `message`. Never fails: an unparseable part counts as unprotected content.
Classification classify(const Message& message);

}  // namespace keyfence::mail::mime
