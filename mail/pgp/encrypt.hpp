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

/// finish_encryption() for a PreparedFile, streaming: `out` gets the output's head (outer
/// headers, multipart/encrypted, the control part, the octet-stream part's header), then gpg's
/// armored output as it comes (CRLF), then the close delimiter. gpg reads the content once.
/// On failure `out` has had part of the message: its owner must drop it (AtomicOutput).
/// Errors: as finish_encryption(), Io, and `out`'s.
base::Status finish_file_encryption(Context& ctx, PreparedFile& prepared,
                                    const std::vector<gpgme_key_t>& recipients, gpgme_key_t signer,
                                    const OutputFn& out, const smime::ProgressFn& progress = {});

}  // namespace keyfence::mail::pgp
