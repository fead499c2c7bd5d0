#pragma once
// GPGME's gpg_error_t as Keyfence errors: one mapping, chosen by what the caller does next.

#include <gpgme.h>

#include <string>

#include "base/error.hpp"

namespace keyfence::mail::pgp {

/// The Error for a failed GPGME call: the code by gpg_err_code(err) (Bad PIN → PinIncorrect,
/// PIN blocked → PinLocked, Canceled → Cancelled, no secret key → KeyNotFound, bad signature
/// → VerifyFailed, decryption and data errors → BadInput, card errors → TokenAbsent/Removed,
/// anything else → `fallback`), origin Gpgme, raw the gpg_error_t, raw_name its text.
base::Error gpg_error(gpgme_error_t err, std::string context,
                      base::ErrorCode fallback = base::ErrorCode::Internal);

}  // namespace keyfence::mail::pgp
