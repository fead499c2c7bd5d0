#pragma once
// Owned GPGME handles (mail/ is the layer that may include GPGME; base/ holds the CFree
// deleter, token/ the libp11 aliases).

#include <gpgme.h>

#include <string>
#include <string_view>

#include "base/handles.hpp"

namespace keyfence::mail {

using GpgmeCtxPtr = base::CPtr<gpgme_context, &gpgme_release>;
using GpgmeDataPtr = base::CPtr<gpgme_data, &gpgme_data_release>;
using GpgmeKeyPtr = base::CPtr<_gpgme_key, &gpgme_key_unref>;

/// An empty memory data object. Returns null only when GPGME is out of memory.
inline GpgmeDataPtr gpgme_memory_data() {
    gpgme_data_t data = nullptr;
    if (gpgme_data_new(&data) != 0) return GpgmeDataPtr();
    return GpgmeDataPtr(data);
}

/// A memory data object holding a copy of `bytes`.
inline GpgmeDataPtr gpgme_data_from(std::string_view bytes) {
    gpgme_data_t data = nullptr;
    if (gpgme_data_new_from_mem(&data, bytes.data(), bytes.size(), 1) != 0) return GpgmeDataPtr();
    return GpgmeDataPtr(data);
}

/// The bytes a memory data object holds (its read position is rewound first).
inline std::string gpgme_data_bytes(gpgme_data_t data) {
    std::string out;
    if (data == nullptr) return out;
    gpgme_data_seek(data, 0, SEEK_SET);
    char buf[16384];
    for (;;) {
        const ssize_t n = gpgme_data_read(data, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace keyfence::mail
