#pragma once
// Who a message says it is from, and whether a signer can be that sender ("Johnny, you are
// fired", USENIX Security 2019, §6 ID attacks). A signature binds a key to an address; the
// message is from the signer only when it has exactly one From: field holding exactly one
// mailbox, every signer's identity carries that address, no Sender: names someone else, and
// any display name is one the signer's identity certifies. Shared by S/MIME and PGP/MIME.

#include <string>
#include <vector>

#include "mail/mime/gmime.hpp"

namespace keyfence::mail::mime {

struct Mailbox {
    std::string name;     ///< display name, decoded (RFC 2047) to UTF-8; may be empty
    std::string address;  ///< lower case
};

struct SenderHeaders {
    int from_fields = 0;          ///< how many From: header fields the message has
    std::string from_text;        ///< the first From: field, decoded, as written
    std::vector<Mailbox> from;    ///< the mailboxes of every From: field
    std::string sender_text;      ///< the Sender: field, decoded, or ""
    std::vector<Mailbox> sender;  ///< its mailboxes
};

/// The From: and Sender: fields of `message`, read from its header list (so that a second
/// From: field is seen, not silently merged or dropped).
SenderHeaders sender_headers(GMimeMessage* message);

/// What a signer's key vouches for: addresses (lower case) and names (certificate subject
/// CN, pseudonym, given name and surname; OpenPGP User ID names).
struct SignerIdentity {
    std::vector<std::string> addresses;
    std::vector<std::string> names;
};

struct SenderCheck {
    std::string code;    ///< "" when the signers are the sender; else a stable snake_case code
    std::string reason;  ///< why not, in words; message strings quoted with quote()
    bool ok() const noexcept { return code.empty(); }
};

/// Judges whether `signers` (all of them; at least one) are the message's sender.
SenderCheck check_sender(const SenderHeaders& headers, const std::vector<SignerIdentity>& signers);

/// `s` with ASCII letters made lower case (addresses, media types, parameters).
std::string ascii_lower(std::string s);

/// `text` quoted for a report: in double quotes, with '"' and '\\' escaped, control
/// characters, invalid UTF-8 and invisible or direction-changing Unicode (bidi overrides,
/// zero-width characters, line and paragraph separators) written as \xNN or \u{XXXX}. Whatever
/// the message holds, the result is one line that cannot pass for Keyfence's own text.
std::string quote(std::string_view text);

}  // namespace keyfence::mail::mime
