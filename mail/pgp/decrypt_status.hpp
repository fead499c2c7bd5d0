#pragma once
// gpg's verdict on a decryption, read from its status lines (GnuPG doc/DETAILS) when Keyfence
// runs gpg itself (mail/pgp/gpg_process.hpp) instead of through GPGME: what GPGME's decrypt and
// verify status handlers would have made of the same lines, so that every error and every
// signature is reported as before.

#include <gpgme.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mail/pgp/verify.hpp"

namespace keyfence::mail::pgp {

struct DecryptStatus {
    bool okay = false;    ///< DECRYPTION_OKAY
    bool failed = false;  ///< DECRYPTION_FAILED or BADMDC
    /// DECRYPTION_INFO said MDC or AEAD; false also when gpg never said (nothing decrypted).
    bool integrity = false;
    /// DECRYPTION_INFO said neither MDC nor AEAD, or gpg's ERROR nomdc_with_legacy_cipher: a
    /// message open to EFAIL.
    bool no_integrity = false;
    bool any_no_seckey = false;            ///< NO_SECKEY for a recipient
    gpgme_error_t pkdecrypt = 0;           ///< ERROR pkdecrypt_failed: the token's PIN errors only
    gpgme_error_t failure = 0;             ///< FAILURE
    std::string cipher;                    ///< as GPGME names it, e.g. "AES256.CFB"
    std::vector<std::string> recipients;   ///< ENC_TO key ids
    std::vector<GpgSignature> signatures;  ///< one per NEWSIG (or per verdict line without it)
};

/// Reads `lines` (each without "[GNUPG:] "). Pure; thread-safe.
DecryptStatus parse_decrypt_status(const std::vector<std::string>& lines);

/// The error GPGME's decrypt would have returned at the end of gpg's output (0: success).
gpgme_error_t decrypt_error(const DecryptStatus& status);

}  // namespace keyfence::mail::pgp
