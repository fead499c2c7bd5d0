#pragma once
// GPGME's passphrase callback in loopback PIN mode, answered from Keyfence's PIN source.
//
// gpg-agent asks for a token's PIN through this callback. gnupg-pkcs11-scd 0.10.0 asks again
// after a wrong PIN without saying so (prev_was_bad stays 0) and would spend up to three tries
// of one operation (../shared/TESTSTACK.md §3). So the answerer answers exactly once per
// operation: any further request is cancelled (GPG_ERR_CANCELED), never resubmitted.

#include <gpgme.h>

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "base/error.hpp"
#include "base/pin.hpp"
#include "base/result.hpp"

namespace keyfence::mail::pgp {

/// What gpg says about the PIN it wants.
struct PassphraseQuestion {
    std::string uid_hint;  ///< "KEYID User ID" of the key, from gpg
    std::string info;      ///< gpg's passphrase info line
    bool previous_was_bad = false;
    int index = 1;  ///< 1 for the first request of the operation, 2 for the second, ...
};

/// Asks the user for one PIN. Errors: Cancelled, Io, and the lockout guard's.
using PinAsker = std::function<base::Result<base::Pin>(const PassphraseQuestion&)>;

/// Answers gpg's PIN requests for one operation. Not thread-safe; outlives the operation it is
/// installed for (PassphraseAnswerer::install).
class PassphraseAnswerer {
  public:
    /// `answers`: how many distinct PIN requests the operation has (1 for every operation
    /// but on-card key generation, which asks for the admin PIN and then the PIN).
    explicit PassphraseAnswerer(PinAsker asker, int answers = 1)
        : m_asker(std::move(asker)), m_answers(answers) {}
    PassphraseAnswerer(const PassphraseAnswerer&) = delete;  // GPGME holds a pointer to it
    PassphraseAnswerer& operator=(const PassphraseAnswerer&) = delete;

    /// Installs loopback PIN entry and this answerer on `ctx`.
    void install(gpgme_ctx_t ctx);
    /// The answerer install()ed on `ctx`, or null: a gpg that Keyfence runs itself for this
    /// context (mail/pgp/gpg_process.hpp) is answered by the same once-only answerer.
    static PassphraseAnswerer* installed_on(gpgme_ctx_t ctx) noexcept;

    /// Answers one PIN request by writing the PIN and a line end to `fd`, or refuses it
    /// (GPG_ERR_CANCELED, nothing written): the rules above, whoever relays the request.
    gpgme_error_t answer(const PassphraseQuestion& question, int fd);
    /// Answers one PIN request that gpg-agent makes itself (INQUIRE PASSPHRASE, loopback,
    /// mail/pgp/agent_sign.hpp) by setting `pin` to the PIN's bytes, which stay in this
    /// answerer's locked memory until its next request or its end, or refuses it as answer().
    gpgme_error_t answer_inquiry(const PassphraseQuestion& question,
                                 std::span<const std::uint8_t>& pin);

    /// How often gpg asked for a PIN in this operation.
    int requests() const noexcept { return m_requests; }
    /// True when gpg asked again after the PIN was given: the request was cancelled.
    bool repeated() const noexcept { return m_requests > m_answers; }
    /// The PIN source's error when the user cancelled or it failed.
    const std::optional<base::Error>& source_error() const noexcept { return m_source_error; }

  private:
    gpgme_error_t take_pin(const PassphraseQuestion& question);
    static gpgme_error_t callback(void* hook, const char* uid_hint, const char* info,
                                  int prev_was_bad, int fd) noexcept;

    PinAsker m_asker;
    int m_answers = 1;
    int m_requests = 0;
    std::optional<base::Error> m_source_error;
    std::optional<base::Pin> m_pin;  ///< the last answer, until the next request
};

}  // namespace keyfence::mail::pgp
