#pragma once
// Which parts of a message a signature covers ("Johnny, you are fired", USENIX Security 2019,
// §5 MIME wrapping). A message counts as signed only when its body entity *is* the signed
// entity; a signed entity anywhere below (after prepended text, hidden by HTML, referenced by
// Content-ID, attached, inside a forwarded message/rfc822) covers only itself, and the rest of
// the message could have been written by anyone. Shared by S/MIME and PGP/MIME.

#include <string>
#include <vector>

#include "mail/mime/gmime.hpp"

namespace keyfence::mail::mime {

/// What kind of signed entity a part is.
enum class SignedKind {
    SmimeDetached,    ///< multipart/signed, protocol application/(x-)pkcs7-signature (RFC 8551)
    SmimeOpaque,      ///< application/(x-)pkcs7-mime, smime-type signed-data (or none given)
    PgpMime,          ///< multipart/signed, protocol application/pgp-signature (RFC 3156)
    PgpInline,        ///< a text part holding "-----BEGIN PGP SIGNED MESSAGE-----" (RFC 4880 §7)
    OrphanSignature,  ///< a detached signature part outside any multipart/signed: covers nothing
};

/// A signed entity found in the tree.
struct SignedEntity {
    std::string path;  ///< IMAP part number (RFC 3501 §6.4.5): "" = the body, "2", "2.1"
    std::string type;  ///< "multipart/signed", ...
    SignedKind kind = SignedKind::SmimeDetached;
    std::string context;  ///< how a reader would meet it: "attachment", "Content-ID reference",
                          ///< "inside a forwarded message", or ""
    GMimeObject* object = nullptr;  ///< owned by the message tree
};

/// A part no signature covers.
struct UnsignedPart {
    std::string path;
    std::string type;
};

struct Coverage {
    std::vector<SignedEntity> signed_entities;
    std::vector<UnsignedPart> unsigned_parts;  ///< leaf parts outside every signed entity

    /// True when the body entity itself is signed (and so nothing outside it can exist).
    bool whole_body_signed() const noexcept {
        return signed_entities.size() == 1 && signed_entities.front().path.empty() &&
               signed_entities.front().kind != SignedKind::OrphanSignature;
    }
};

/// Walks the tree below `body` (a message's top-level entity). Never fails; never follows
/// anything outside the tree. The GMimeObject pointers stay valid while the tree lives.
Coverage analyse_coverage(GMimeObject* body);

/// "the whole message body" or "part 2.1", for reports.
std::string describe_path(const std::string& path);

/// True for the S/MIME and PGP signature protocols and content types, case-insensitively.
bool is_smime_signature_protocol(const std::string& protocol);

/// The lower-case value of a Content-Type parameter of `object`, or "".
std::string content_type_parameter(GMimeObject* object, const char* name);

}  // namespace keyfence::mail::mime
