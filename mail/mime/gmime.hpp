#pragma once
// GMime 3.2 plumbing: one-time initialisation and owned GObjects. Everything MIME in Keyfence
// goes through GMime; these helpers keep its reference counting out of the callers.

#include <gmime/gmime.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace keyfence::mail::mime {

/// Initialises GMime once per process (g_mime_init). Thread-safe; every entry point of
/// mail/mime calls it, so callers need not.
void ensure_gmime();

/// Deleter dropping one GObject reference.
struct GObjectUnref {
    void operator()(void* p) const noexcept {
        if (p != nullptr) g_object_unref(p);
    }
};

/// An owned reference to a GObject (GMimeMessage, GMimeObject, GMimeStream, ...).
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

/// Takes one more reference to `p`, for a second owner.
template <class T>
GPtr<T> add_ref(T* p) {
    if (p != nullptr) g_object_ref(p);
    return GPtr<T>(p);
}

struct FormatOptionsFree {
    void operator()(GMimeFormatOptions* p) const noexcept { g_mime_format_options_free(p); }
};
using FormatOptionsPtr = std::unique_ptr<GMimeFormatOptions, FormatOptionsFree>;

/// Format options that write CRLF line ends: the canonical form of RFC 8551 §3.1.1.
FormatOptionsPtr crlf_options();

/// A memory stream holding a copy of `bytes`.
GPtr<GMimeStream> memory_stream(std::string_view bytes);

/// The bytes a memory stream holds.
std::string stream_bytes(GMimeStream* memory);

/// Serialises `object` (headers and body) in canonical form: CRLF line ends throughout.
std::string canonical_bytes(GMimeObject* object);

/// Receives bytes written to a sink_stream(); returns false to fail the write (GMime then
/// stops writing and reports -1).
using ByteSink = std::function<bool(std::string_view)>;

/// A write-only GMime stream handing every byte written to `sink`, in order. Lets GMime write
/// a message of any size to a hash, a file or both without holding it in memory.
GPtr<GMimeStream> sink_stream(ByteSink sink);

/// A read-only, seekable stream over the file at `path` (read(2), not mmap, so that the
/// pages read do not count against the process's resident memory). Returns null and sets
/// nothing when the file cannot be opened.
GPtr<GMimeStream> file_stream(const std::string& path);
/// As above, checking lines against `max_line` bytes as the blocks are read
/// (read_ahead_stream.hpp: read_ahead_stream_checked_all() tells whether all of it was).
GPtr<GMimeStream> file_stream(const std::string& path, std::size_t max_line);

/// Writes `object` in canonical form (CRLF line ends throughout, RFC 8551 §3.1.1) to `out`,
/// streaming: the bytes of file-backed parts are never all in memory; large leaf parts stored
/// in their transfer encoding are copied in 1 MiB blocks (canonical.cpp). Returns false when a
/// write failed.
bool write_canonical(GMimeObject* object, GMimeStream* out);

/// Makes every quoted-printable leaf part below `object` (itself included) armour lines that
/// start with "From " as "=46rom " (GMimeFilterFrom, ARMOR mode): an mbox hop rewrites such
/// lines to ">From ", which would break a signature over them (RFC 8551 §3.1.3 advises
/// quoted-printable for signed text for this reason). Call after g_mime_object_encode() chose
/// the encodings; the encoded content goes to an anonymous temporary file, not memory.
/// Returns false when a part could not be re-encoded.
bool armor_from_lines(GMimeObject* object);

/// "type/subtype" in lower case, or "" when `object` is null.
std::string mime_type(GMimeObject* object);

}  // namespace keyfence::mail::mime
