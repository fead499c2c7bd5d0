#pragma once
// The signed entities of a message as gpg will check them, cut without gpg: for each signed
// entity mail/mime/coverage.hpp finds, the bytes signed and the signature (RFC 3156 §5), or the
// cleartext-signed block (RFC 4880 §7), and why it cannot count as the whole message. Shared by
// `pgp verify` and the pgp_mime_fuzz target.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/coverage.hpp"
#include "mail/mime/message.hpp"
#include "mail/mime/sender.hpp"

namespace keyfence::mail::pgp {

/// One signed entity, ready for gpg.
struct SignedInput {
    mime::SignedEntity entity;  ///< where it is; its object is owned by the message's tree
    bool inline_block = false;  ///< `signature` is a cleartext-signed block; gpg gives the text
    std::string content;        ///< multipart/signed: the first part (as received for the body)
    std::string signature;      ///< the armored signature, or the cleartext-signed block
    std::string problem;        ///< why it cannot be checked (nothing for gpg), or ""
    /// Why this entity, signed or not, does not cover all of its part: text around an inline
    /// block, HTML, several blocks. "" when it covers the whole part.
    std::string outside;
    /// The body's multipart/signed content is to be streamed from the file the message was
    /// parsed from (prepare_file_verification); `content` is empty, `boundary` names its parts.
    bool streamed = false;
    std::string boundary;
    /// multipart/signed: its micalg parameter as written (RFC 3156 §5), or "".
    std::string micalg;
};

struct PreparedVerification {
    mime::Message message;
    mime::SenderHeaders sender;
    mime::Coverage coverage;
    std::vector<SignedInput> inputs;  ///< one per coverage.signed_entities, in order
};

/// Parses `message` and prepares every signed entity in it. The body's multipart/signed
/// content is cut from `message` exactly as received; entities below the body are cut from
/// GMime's serialisation (they are only reported, never the verdict). Errors: BadInput (not a
/// message, a limit of docs/limits.md exceeded). A malformed signed entity is a `problem`.
base::Result<PreparedVerification> prepare_verification(std::string_view message);

/// As above for a message parsed from a file (mime::Message::parse_file): the body's
/// multipart/signed content is not cut but marked `streamed`, for the caller to stream it from
/// that file; the rest is as above. Errors: as above.
base::Result<PreparedVerification> prepare_file_verification(mime::Message message);

}  // namespace keyfence::mail::pgp
