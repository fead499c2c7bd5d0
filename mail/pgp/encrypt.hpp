#pragma once
// PGP/MIME encryption (RFC 3156 §4), and signing and encryption in one pass (§6.2): the body
// entity prepared by prepare_content() is encrypted to the recipients' keys (and signed by the
// sender's token key when asked) and sent as multipart/encrypted with the outer headers kept.

#include <string>
#include <vector>

#include "base/result.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/sign.hpp"

namespace keyfence::mail::pgp {

/// Encrypts `prepared.content` to `recipients` (the sender's own key among them, so that sent
/// mail stays readable); with `signer`, signs it in the same gpg call (the PIN through the
/// context's passphrase callback). The recipients were named by the user, so their keys are
/// used whatever their trust (GPGME_ENCRYPT_ALWAYS_TRUST); the report shows them.
/// Returns the whole multipart/encrypted message (CRLF).
/// Errors: KeyNotFound (an unusable recipient), those of gpg_error.
base::Result<std::string> finish_encryption(Context& ctx, PreparedContent& prepared,
                                            const std::vector<gpgme_key_t>& recipients,
                                            gpgme_key_t signer);

}  // namespace keyfence::mail::pgp
