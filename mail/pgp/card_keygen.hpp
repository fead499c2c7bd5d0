#pragma once
// Generating keys on an OpenPGP card through gpg --card-edit (GPGME's interact interface):
// the card makes the signature, decryption and authentication keys, gpg makes the
// certificate. The admin PIN and the PIN come through the context's passphrase callback.

#include <functional>
#include <optional>
#include <set>
#include <string>

#include "base/result.hpp"
#include "mail/pgp/context.hpp"

namespace keyfence::mail::pgp {

struct CardKeygen {
    std::string name;      ///< the user ID's name
    std::string address;   ///< the user ID's address
    bool replace = false;  ///< the card already has keys: overwrite them
    /// Called when gpg goes on to the certificate's questions: the card accepted the admin PIN
    /// and the PIN (gpg checks both before it generates, g10/card-util.c).
    std::function<void()> on_pins_accepted;
};

/// Checks a user ID's name and address against the rules gpg's key generation dialogue
/// applies to its answers (gpg 2.2 g10/keygen.c ask_user_id, common/mbox-util.c
/// is_valid_mailbox), so that gpg never refuses an answer: it would ask the same question again
/// (gpg counts bytes, and trims spaces first):
/// - the name may be empty; otherwise at least 5 bytes, not starting with a digit, no '<' '>';
/// - the address: one '@', not first or last; no ".." and no '.' at the end; before the '@'
///   letters, digits and "!#$%&'*+-/=?^_`{|}~." only; after it letters, digits and "-._";
///   bytes above 0x7f are accepted anywhere.
/// Errors: Usage, naming the rule.
base::Status check_keygen_user_id(const std::string& name, const std::string& address);

/// The answers to gpg --card-edit's "generate" dialogue (g10/card-util.c, g10/keygen.c), by
/// prompt keyword. Each question is answered once: gpg asks one again only when it refused the
/// answer (a name it finds too short, say), and answering again would loop for ever. Any other
/// question, and any question asked twice, gets no answer: the exchange is cancelled.
class KeygenDialogue {
  public:
    explicit KeygenDialogue(const CardKeygen& request) : m_request(request) {}
    /// The answer to `prompt`, or nothing (then why() says what went wrong).
    std::optional<std::string> answer(const std::string& prompt);
    /// Why the dialogue stopped; empty while it goes on.
    const std::string& why() const noexcept { return m_why; }
    /// The error for a dialogue that stopped: Usage when gpg refused the user ID, Cancelled
    /// otherwise.
    base::Error error() const;
    bool refused_replace() const noexcept { return m_refused_replace; }

  private:
    const CardKeygen& m_request;
    int m_commands = 0;  ///< how many cardedit.prompt answers were given
    std::set<std::string> m_answered;
    std::string m_why;
    bool m_user_id_refused = false;
    bool m_refused_replace = false;
};

/// Runs "admin", "generate" on the card in the home's reader, without an off-card backup of
/// the encryption key, keys valid forever. Returns the new certificate's fingerprint.
/// Errors: Usage (a user ID gpg would refuse: check_keygen_user_id()), Cancelled (the card
/// has keys and `replace` is false; an unexpected or repeated question from gpg), those of
/// gpg_error.
base::Result<std::string> generate_on_card(Context& ctx, const CardKeygen& request);

}  // namespace keyfence::mail::pgp
