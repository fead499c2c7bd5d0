#pragma once
// Glue shared by the `keyfence pgp` subcommands: the GnuPG home, and running one private-key
// operation of gpg under the engine's rules — policy and lockout guard before any PIN, the PIN
// from Keyfence's PIN source (answered once), no unlocked state left behind, the audit record.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/progress.hpp"
#include "base/result.hpp"
#include "cli/command.hpp"
#include "engine/engine.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/keys.hpp"
#include "mail/pgp/passphrase.hpp"
#include "mail/smime/stream_io.hpp"
#include "token/openpgp/application_data.hpp"

namespace keyfence::cli {

/// Adds `--homedir DIR` (the GnuPG home; default: Keyfence's own) to `cmd`.
void add_homedir_option(CLI::App* cmd, std::string& homedir);

/// A GPGME context on the resolved home. Errors: Usage when the home was never set up
/// ('keyfence pgp setup'), and those of Context::open.
base::Result<mail::pgp::Context> open_home(const std::string& homedir);

/// The token key behind an OpenPGP key, as the engine judges it.
struct TokenKey {
    token::pkcs11::KeyMatch match;
    std::optional<int> tries_left;  ///< an OpenPGP card's PW1 retry counter, read just now
    /// An OpenPGP card whose PW1 stays valid for several signatures (DO C4 byte 1).
    bool pw1_several_signatures = false;
};

/// The engine's view of the token key behind an OpenPGP key: the PKCS#11 key recorded by
/// `pgp bind` (with the token's fresh PIN state), else the card or token gpg names. For an
/// OpenPGP card found in a PC/SC reader, its PW1 retry counter is read now (OpenPGP card 3.4
/// §4.4.1 DO C4), so that the lockout guard refuses a blocked PIN or the last try before gpg
/// asks for the PIN. Errors: Unsupported when the secret key is not on a token, and those of
/// Engine::find_key.
base::Result<TokenKey> token_key_for(engine::Engine& engine, const std::string& homedir,
                                     const mail::pgp::KeyInfo& key);

/// The request for an OpenPGP private-key operation (protocol "openpgp").
engine::OperationRequest pgp_request(engine::Operation op, const token::pkcs11::KeyMatch& match,
                                     const mail::mime::MessageHeaders* headers,
                                     std::span<const std::uint8_t> sha256);

/// The PIN prompt for `request` on `key`: token, key, operation, summary, tries left.
token::PinRequest pin_prompt(const TokenKey& key, const engine::OperationRequest& request);

/// Runs `operation` (a gpg call on `ctx` that needs the token's PIN) for `key`: admits it
/// (policy, lockout guard), installs the once-only passphrase answerer that asks the engine's
/// PIN source with the request's summary, stops the home's daemons before and after (no
/// cached login survives), and writes the audit record before returning. A repeated PIN
/// request in one operation is reported as a wrong PIN (PinIncorrect).
base::Status run_private_operation(engine::Engine& engine, mail::pgp::Context& ctx,
                                   const TokenKey& key, const engine::OperationRequest& request,
                                   const std::function<base::Status()>& operation);

/// The same for a PGP/MIME operation (sign, decrypt, sign+encrypt), with PIN sessions: when
/// the policy says pin.mode = "session" and an agent runs (cli/pgp_session.hpp), an operation
/// inside the agent's live session for this home and token asks no PIN and leaves the daemons
/// running; one that asked the PIN hands its unlocked state to the agent, which ends it at the
/// session's TTL, cap, on `keyfence lock`, token removal, a policy change or its own stop.
/// Otherwise (no agent, per-operation, a card without several signatures per VERIFY) the
/// daemons stop after the operation as above.
base::Status run_private_operation(const GlobalOptions& globals, engine::Engine& engine,
                                   mail::pgp::Context& ctx, const TokenKey& key,
                                   const engine::OperationRequest& request,
                                   const std::function<base::Status()>& operation);

/// The same, for an operation with several distinct PIN requests (on-card key generation:
/// the admin PIN, then the PIN): `asker` answers each once, any further request is cancelled.
base::Status run_private_operation(engine::Engine& engine, mail::pgp::Context& ctx,
                                   const TokenKey& key, const engine::OperationRequest& request,
                                   const std::function<base::Status()>& operation,
                                   const mail::pgp::PinAsker& asker, int answers);

/// The token key of the one OpenPGP card in the readers, with its PIN state read now.
/// Errors: TokenAbsent (no card), Ambiguous (several).
base::Result<std::pair<TokenKey, token::openpgp::ApplicationData>> the_card();

/// Resets the access status of PW1 (81, 82) and PW3 of the OpenPGP card in `reader`.
/// Errors: those of PC/SC, Unsupported when the card refuses (cards before version 3).
base::Status forget_card_pins(const std::string& reader);
/// forget_card_pins() for a key on a card in a reader (nothing for other keys); a failure is a
/// warning that says to remove the card.
void forget_card_pins_after(const TokenKey& key);

/// Registration of the subcommands of `pgp` (cli/pgp_*_command.cpp).
/// A progress line's update for the streaming phases (mail/smime/stream_io.hpp ProgressFn).
inline mail::smime::ProgressFn progress_of(base::Progress& progress) {
    return [&progress](std::uint64_t done, std::uint64_t) { progress.update(done); };
}

void add_pgp_setup_commands(CommandContext& context, CLI::App* pgp);
void add_pgp_sign_verify(CommandContext& context, CLI::App* pgp);
void add_pgp_encrypt_decrypt(CommandContext& context, CLI::App* pgp);
void add_pgp_card_keygen(CommandContext& context, CLI::App* pgp);

}  // namespace keyfence::cli
