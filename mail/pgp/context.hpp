#pragma once
// One GPGME context on Keyfence's GnuPG home: the OpenPGP engine (gpg) with --homedir set, so
// that Keyfence never uses ~/.gnupg unless told to.

#include <string>

#include "base/result.hpp"
#include "mail/gpgme_handles.hpp"

namespace keyfence::mail::pgp {

/// GPGME initialised (once per process) with a usable gpg. Errors: Unsupported.
base::Status gpgme_ready();

class Context {
  public:
    /// A context for gpg with `homedir`, ASCII armor on, local key listing, and no symmetric
    /// passphrase cache. Errors: Unsupported (GPGME or gpg missing), Internal.
    static base::Result<Context> open(const std::string& homedir);

    gpgme_ctx_t get() const noexcept { return m_ctx.get(); }
    const std::string& homedir() const noexcept { return m_homedir; }

  private:
    Context(GpgmeCtxPtr ctx, std::string homedir)
        : m_ctx(std::move(ctx)), m_homedir(std::move(homedir)) {}
    GpgmeCtxPtr m_ctx;
    std::string m_homedir;
};

}  // namespace keyfence::mail::pgp
