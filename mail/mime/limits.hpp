#pragma once
// Keyfence's limits on MIME structure (docs/limits.md). They are checked on every message and
// entity that mail/mime parses (Message::parse, parse_entity), for S/MIME and PGP/MIME alike,
// so that hostile input costs bounded work and a clear error, never a crash or a hang. A
// message beyond a limit is refused with ErrorCode::BadInput (exit 7), naming the limit.

#include <cstddef>
#include <string_view>

#include "base/result.hpp"
#include "mail/mime/gmime.hpp"

namespace keyfence::mail::mime {

struct MimeLimits {
    /// Whole message or entity. OpenSSL's memory BIOs and CMS content take an int length.
    std::size_t max_message_bytes = 0x7fffffff;
    /// Any one line, header or body (RFC 5322 §2.1.1 asks for 998; real HTML mail is longer).
    std::size_t max_line_bytes = 1024 * 1024;
    /// Nesting of multiparts and message/rfc822 parts below the message (the body is level 1).
    int max_depth = 32;
    /// Entities in the whole tree, the body and every part of every level counted.
    int max_parts = 1000;
    /// Header fields of one entity (or the message's outer header block).
    int max_header_fields = 500;
    /// Bytes of one entity's header block (names and raw values).
    std::size_t max_header_bytes = 256 * 1024;
};

/// The limits Keyfence applies.
inline constexpr MimeLimits k_mime_limits{};

/// Size and line length, on the bytes before they are parsed. Errors: BadInput.
base::Status check_raw_limits(std::string_view bytes, const MimeLimits& limits = k_mime_limits);

/// Line length of a seekable stream (a message file parsed in place), read once from its start
/// and reset to it. Its size is not limited: file-backed parsing never holds it whole.
/// Errors: BadInput, Io.
base::Status check_stream_line_limits(GMimeStream* stream,
                                      const MimeLimits& limits = k_mime_limits);

/// Depth, number of parts and header sizes of a parsed tree: `root` is a GMimeMessage (its
/// outer headers count) or an entity. Errors: BadInput.
base::Status check_tree_limits(GMimeObject* root, const MimeLimits& limits = k_mime_limits);

}  // namespace keyfence::mail::mime
