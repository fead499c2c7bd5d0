#pragma once
// GMime 3.2 plumbing: one-time initialisation and owned GObjects. Everything MIME in Keyfence
// goes through GMime; these helpers keep its reference counting out of the callers.

#include <gmime/gmime.h>

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

/// "type/subtype" in lower case, or "" when `object` is null.
std::string mime_type(GMimeObject* object);

}  // namespace keyfence::mail::mime
