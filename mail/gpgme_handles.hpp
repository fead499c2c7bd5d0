#pragma once
// Owned GPGME handles (mail/ is the layer that may include GPGME; base/ holds the CFree
// deleter, token/ the libp11 aliases).

#include <gpgme.h>

#include "base/handles.hpp"

namespace keyfence::mail {

using GpgmeCtxPtr = base::CPtr<gpgme_context, &gpgme_release>;
using GpgmeDataPtr = base::CPtr<gpgme_data, &gpgme_data_release>;
using GpgmeKeyPtr = base::CPtr<_gpgme_key, &gpgme_key_unref>;

}  // namespace keyfence::mail
