#pragma once
// A connection to the gpg-agent of a GnuPG home through GPGME's Assuan protocol, for what gpg
// has no command for: on-card key attributes (mail/pgp/card_attributes.hpp) and signing a
// digest that Keyfence hashed itself (mail/pgp/agent_sign.hpp). PIN requests arrive as the
// agent's INQUIRE PASSPHRASE (loopback PIN entry).

#include <string>

#include "base/result.hpp"
#include "mail/gpgme_handles.hpp"

namespace keyfence::mail::pgp {

/// A GPGME Assuan context on the home's gpg-agent, started if need be, in loopback PIN mode.
/// Errors: Io (no agent), Internal (GPGME), ModuleFailure (the agent refuses loopback).
base::Result<GpgmeCtxPtr> agent_context(const std::string& homedir);

/// One Assuan command; the server's error (ERR line) in preference to GPGME's. `data` gets the
/// agent's D lines, `inquire` answers its inquiries (GPGME's callbacks; either may be null).
gpgme_error_t agent_transact(gpgme_ctx_t ctx, const std::string& command,
                             gpgme_assuan_data_cb_t data = nullptr, void* data_value = nullptr,
                             gpgme_assuan_inquire_cb_t inquire = nullptr,
                             void* inquire_value = nullptr);

}  // namespace keyfence::mail::pgp
