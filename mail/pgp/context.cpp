#include "mail/pgp/context.hpp"

#include <clocale>
#include <mutex>

#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {

base::Status gpgme_ready() {
    static std::once_flag once;
    static bool ready = false;
    std::call_once(once, [] {
        // GPGME requires gpgme_check_version before any other call (GPGME manual §2.4).
        ready = gpgme_check_version(nullptr) != nullptr &&
                gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP) == 0;
    });
    if (!ready) {
        return base::Error(base::ErrorCode::Unsupported, "GnuPG (gpg 2.2 or later) is not usable",
                           "install gnupg and gpg-agent (apt-get install gnupg)");
    }
    return {};
}

base::Result<Context> Context::open(const std::string& homedir) {
    KEYFENCE_TRY(gpgme_ready());
    gpgme_ctx_t raw = nullptr;
    if (auto err = gpgme_new(&raw); err != 0) return gpg_error(err, "could not start GPGME");
    GpgmeCtxPtr ctx(raw);
    if (auto err =
            gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr, homedir.c_str());
        err != 0) {
        return gpg_error(err, "could not point gpg at " + homedir);
    }
    gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_OpenPGP);
    gpgme_set_armor(ctx.get(), 1);
    gpgme_set_keylist_mode(ctx.get(), GPGME_KEYLIST_MODE_LOCAL);
    gpgme_set_ctx_flag(ctx.get(), "no-symkey-cache", "1");
    return Context(std::move(ctx), homedir);
}

}  // namespace keyfence::mail::pgp
