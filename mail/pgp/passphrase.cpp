#include "mail/pgp/passphrase.hpp"

namespace keyfence::mail::pgp {

void PassphraseAnswerer::install(gpgme_ctx_t ctx) {
    gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
    gpgme_set_passphrase_cb(ctx, &PassphraseAnswerer::callback, this);
}

PassphraseAnswerer* PassphraseAnswerer::installed_on(gpgme_ctx_t ctx) noexcept {
    gpgme_passphrase_cb_t cb = nullptr;
    void* hook = nullptr;
    gpgme_get_passphrase_cb(ctx, &cb, &hook);
    return cb == &PassphraseAnswerer::callback ? static_cast<PassphraseAnswerer*>(hook) : nullptr;
}

gpgme_error_t PassphraseAnswerer::callback(void* hook, const char* uid_hint, const char* info,
                                           int prev_was_bad, int fd) noexcept {
    // No exception may cross GPGME's C callback.
    try {
        auto* self = static_cast<PassphraseAnswerer*>(hook);
        PassphraseQuestion question{uid_hint != nullptr ? uid_hint : "",
                                    info != nullptr ? info : "", prev_was_bad != 0};
        return self->answer(question, fd);
    } catch (...) {
        return gpg_error(GPG_ERR_CANCELED);
    }
}

gpgme_error_t PassphraseAnswerer::take_pin(const PassphraseQuestion& question) {
    ++m_requests;
    m_pin.reset();
    // One entry, one try: a second request in the same operation means the PIN was wrong (or
    // the agent retries by itself); it is cancelled rather than answered again.
    if (m_requests > m_answers || question.previous_was_bad) return gpg_error(GPG_ERR_CANCELED);
    PassphraseQuestion numbered = question;
    numbered.index = m_requests;
    auto pin = m_asker(numbered);
    if (!pin) {
        m_source_error = pin.error();
        return gpg_error(GPG_ERR_CANCELED);
    }
    m_pin.emplace(std::move(*pin));
    return 0;
}

gpgme_error_t PassphraseAnswerer::answer(const PassphraseQuestion& question, int fd) {
    if (const gpgme_error_t refused = take_pin(question); refused != 0) return refused;
    const auto bytes = m_pin->bytes();
    const bool written =
        gpgme_io_writen(fd, bytes.data(), bytes.size()) == 0 && gpgme_io_writen(fd, "\n", 1) == 0;
    m_pin.reset();
    return written ? 0 : gpg_error(GPG_ERR_CANCELED);
}

gpgme_error_t PassphraseAnswerer::answer_inquiry(const PassphraseQuestion& question,
                                                 std::span<const std::uint8_t>& pin) {
    if (const gpgme_error_t refused = take_pin(question); refused != 0) return refused;
    pin = m_pin->bytes();
    return 0;
}

}  // namespace keyfence::mail::pgp
