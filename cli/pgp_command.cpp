// keyfence pgp: the PGP/MIME command group (RFC 3156) through GnuPG. Each subcommand lives in
// its own file; this one registers the group and holds what they share.

#include <filesystem>

#include "base/hex.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pgp_session.hpp"
#include "cli/pgp_support.hpp"
#include "cli/smime_support.hpp"
#include "mail/pgp/homedir.hpp"
#include "mail/pgp/passphrase.hpp"
#include "token/openpgp/card_directory.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;

void add_homedir_option(CLI::App* cmd, std::string& homedir) {
    cmd->add_option("--homedir", homedir,
                    "The GnuPG home (default: ${XDG_DATA_HOME:-~/.local/share}/keyfence/gnupg)");
}

base::Result<mail::pgp::Context> open_home(const std::string& homedir) {
    const std::string home = mail::pgp::resolve_homedir(homedir);
    if (!std::filesystem::exists(std::filesystem::path(home) / "gpg-agent.conf")) {
        return base::Error(base::ErrorCode::Usage, "the GnuPG home " + home + " is not set up",
                           "run 'keyfence pgp setup --pkcs11' or 'keyfence pgp setup --card'");
    }
    return mail::pgp::Context::open(home);
}

namespace {
// gpg's algorithm names (gpgme_pubkey_algo_string: "rsa2048", "nistp256", "ed25519",
// "cv25519", "brainpoolP256r1", ...) as the policy's: RSA bits, and EC curves by the names of
// the token layer ("P-256"). The 25519/448 curves are not in the policy's curve vocabulary;
// like EdDSA keys on cards, they are judged by the other rules only.
void set_algorithm(const std::string& name, token::pkcs11::ObjectInfo& key) {
    if (name.rfind("rsa", 0) == 0) {
        key.algorithm = p11::KeyAlgorithm::Rsa;
        key.bits = std::atoi(name.c_str() + 3);
    } else if (name.rfind("ed", 0) == 0) {
        key.algorithm = p11::KeyAlgorithm::EdDsa;
        key.curve = name == "ed25519" ? "Ed25519" : name;
    } else if (name.rfind("cv", 0) == 0) {
        key.algorithm = p11::KeyAlgorithm::Other;
        key.curve = name == "cv25519" ? "Cv25519" : name;
    } else {
        key.algorithm = p11::KeyAlgorithm::Ec;
        key.curve = name.rfind("nistp", 0) == 0 ? "P-" + name.substr(5) : name;
    }
}

// A token key that `pgp bind` did not record (an OpenPGP card through scdaemon, or a key bound
// by gpg itself): the engine judges it by what gpg says about it.
p11::KeyMatch gnupg_key(const mail::pgp::KeyInfo& key) {
    p11::KeyMatch match;
    match.token.module_path = "gnupg:scdaemon";
    match.token.present = true;
    match.token.label = "OpenPGP card " + key.card_serial;
    match.token.manufacturer = "GnuPG smartcard daemon";
    match.token.model = "OpenPGP card";
    match.token.serial = key.card_serial;
    match.key.uri = "openpgp4fpr:" + key.fingerprint;
    match.key.label = key.uids.empty() ? key.fingerprint : key.uids.front();
    match.key.public_key_sha256 = key.fingerprint;
    set_algorithm(key.algorithm, match.key);
    match.key.supported = true;
    // describe() picked the subkey that has gpg's usage flag for this operation.
    match.key.can_sign = true;
    match.key.can_decrypt = true;
    return match;
}

// The card gpg names by its application identifier (OpenPGP card 3.4 §4.2.1: D276000124 01,
// version, manufacturer, serial, 0000), if it is in a reader now.
std::optional<token::openpgp::CardEntry> card_in_reader(const std::string& aid) {
    if (aid.size() != 32 || aid.rfind("D27600012401", 0) != 0) return std::nullopt;
    auto ref = token::openpgp::parse_card_reference("openpgp:" + aid.substr(16, 12));
    if (!ref) return std::nullopt;
    const token::openpgp::CardListing listing = token::openpgp::list_cards();
    auto entry = token::openpgp::find_card(listing, *ref);
    if (!entry || !(*entry)->card) return std::nullopt;
    return **entry;
}

// The card as the policy and the lockout guard see it, with its PW1 state read just now.
void describe_card(const token::openpgp::CardEntry& entry, TokenKey& key) {
    const auto& card = *entry.card;
    auto& token = key.match.token;
    token.module_path = "pcsc:" + entry.reader;
    token.label = "OpenPGP card " + card.serial_text();
    token.manufacturer = card.manufacturer_name();
    token.model = "OpenPGP card " + std::to_string(card.version_major) + "." +
                  std::to_string(card.version_minor);
    token.serial = card.serial_text();
    token.software = card.is_test_card();
    if (token.software) {
        token.software_reason = "an OpenPGP test card (unregistered manufacturer range)";
    }
    token.pin.login_required = true;
    token.pin.locked = card.pins.pw1_tries == 0;
    token.pin.final_try = card.pins.pw1_tries == 1;
    key.tries_left = card.pins.pw1_tries;
    key.pw1_several_signatures = card.pins.pw1_valid_for_several_signatures;
}
}  // namespace

base::Result<TokenKey> token_key_for(engine::Engine& engine, const std::string& homedir,
                                     const mail::pgp::KeyInfo& key) {
    if (!key.on_token) {
        return base::Error(base::ErrorCode::Unsupported,
                           "the secret key of " + key.fingerprint +
                               " is not on a token; Keyfence uses only token keys",
                           "bind a token key with 'keyfence pgp bind'");
    }
    if (auto uri = mail::pgp::binding_for(homedir, key.keygrip)) {
        KEYFENCE_TRY_ASSIGN(match, engine.find_key(*uri));
        return TokenKey{std::move(match), std::nullopt};
    }
    TokenKey token_key{gnupg_key(key), std::nullopt};
    if (auto entry = card_in_reader(key.card_serial)) describe_card(*entry, token_key);
    return token_key;
}

engine::OperationRequest pgp_request(engine::Operation op, const p11::KeyMatch& match,
                                     const mail::mime::MessageHeaders* headers,
                                     std::span<const std::uint8_t> sha256) {
    engine::OperationRequest request;
    request.operation = op;
    request.key_uri = match.key.uri;
    request.protocol = engine::Protocol::OpenPgp;
    if (headers != nullptr) {
        request.summary = message_summary(*headers);
        request.message_id = headers->message_id;
    }
    request.content_sha256 = base::to_hex(sha256);
    return request;
}

token::PinRequest pin_prompt(const TokenKey& key, const engine::OperationRequest& request) {
    const p11::KeyMatch& match = key.match;
    token::PinRequest prompt = engine::pin_request_for(match, request);
    prompt.operation += " (OpenPGP)";
    prompt.count_low = match.token.pin.count_low;
    prompt.final_try = match.token.pin.final_try;
    prompt.tries_left = key.tries_left;
    return prompt;
}

namespace {

base::Status outcome_of(base::Status result, const mail::pgp::PassphraseAnswerer& answerer) {
    if (answerer.source_error()) return *answerer.source_error();
    if (!result && answerer.repeated() &&
        (result.error().code == base::ErrorCode::Cancelled ||
         result.error().code == base::ErrorCode::PinIncorrect)) {
        base::Error e(base::ErrorCode::PinIncorrect,
                      "the token rejected the PIN; gpg asked again and Keyfence cancelled the "
                      "repeated request (one entry, one try)",
                      "check the PIN and run the command again");
        e.from(result.error().origin, result.error().raw, result.error().raw_name);
        return e;
    }
    return result;
}
}  // namespace

namespace {
// The end of an operation that may run in a PIN session (run_private_operation with globals):
// who keeps the unlocked state, and the audit record.
base::Status end_session_operation(engine::Engine& engine, mail::pgp::Context& ctx,
                                   const TokenKey& key, const engine::OperationRequest& request,
                                   PgpSessionLink& session, bool live,
                                   const mail::pgp::PassphraseAnswerer& answerer,
                                   base::Status result) {
    // The unlocked state stays with the daemons while the agent's session holds it. In a live
    // session (not at its cap): always, unless a PIN entered now unlocked something the agent
    // no longer takes (its session ended meanwhile); a failure leaves the state no more open
    // than it was. Outside one: when a PIN was entered and the agent took the state over.
    // Otherwise it ends now.
    bool kept = false;
    if (live && !session.last()) {
        kept = answerer.requests() == 0 || !result || session.open();
    } else if (!live && answerer.requests() > 0 && result) {
        kept = session.open();
    }
    base::Status stopped;
    if (!kept) {
        stopped = mail::pgp::stop_daemons(ctx.homedir());
        forget_card_pins_after(key);
    }
    if (result && !stopped) result = stopped;
    return record_operation(engine, key.match, request, std::move(result));
}
}  // namespace

base::Status run_private_operation(engine::Engine& engine, mail::pgp::Context& ctx,
                                   const TokenKey& key, const engine::OperationRequest& request,
                                   const std::function<base::Status()>& operation) {
    const token::PinRequest prompt = pin_prompt(key, request);
    return run_private_operation(
        engine, ctx, key, request, operation,
        [&](const mail::pgp::PassphraseQuestion&) { return engine.pin_source().ask(prompt); }, 1);
}

base::Status run_private_operation(engine::Engine& engine, mail::pgp::Context& ctx,
                                   const TokenKey& key, const engine::OperationRequest& request,
                                   const std::function<base::Status()>& operation,
                                   const mail::pgp::PinAsker& asker, int answers) {
    const p11::KeyMatch& match = key.match;
    // pin.confirm_each_operation: the confirmation names what gpg will sign or decrypt.
    KEYFENCE_TRY(engine.admit(match, request, pin_prompt(key, request)));
    mail::pgp::PassphraseAnswerer answerer(asker, answers);
    answerer.install(ctx.get());
    // A fresh agent and smartcard daemon: no login left from before answers for this PIN.
    (void)mail::pgp::stop_daemons(ctx.homedir());
    (void)mail::pgp::set_pkcs11_pin_cache(ctx.homedir(), 1);
    base::Status result = outcome_of(operation(), answerer);
    // And none survives this operation (gnupg-pkcs11-scd and scdaemon keep theirs).
    auto stopped = mail::pgp::stop_daemons(ctx.homedir());
    // Nor on the card, which scdaemon leaves with its PINs verified.
    forget_card_pins_after(key);
    gpgme_set_passphrase_cb(ctx.get(), nullptr, nullptr);
    if (result && !stopped) result = stopped;
    return record_operation(engine, match, request, std::move(result));
}

base::Status run_private_operation(const GlobalOptions& globals, engine::Engine& engine,
                                   mail::pgp::Context& ctx, const TokenKey& key,
                                   const engine::OperationRequest& request,
                                   const std::function<base::Status()>& operation) {
    auto session = PgpSessionLink::for_operation(globals, engine, ctx.homedir(), key);
    if (!session) return run_private_operation(engine, ctx, key, request, operation);
    const p11::KeyMatch& match = key.match;
    // pin.confirm_each_operation holds inside a session too: admit() asks first.
    KEYFENCE_TRY(engine.admit(match, request, pin_prompt(key, request)));
    const token::PinRequest prompt = pin_prompt(key, request);
    mail::pgp::PassphraseAnswerer answerer(
        [&](const mail::pgp::PassphraseQuestion&) { return engine.pin_source().ask(prompt); }, 1);
    answerer.install(ctx.get());
    const bool live = session->use();
    if (!live) {
        // As in per-operation mode: nothing left from before answers for this PIN. The
        // PKCS#11 daemon's login then lasts the session's life (the agent ends it sooner).
        (void)mail::pgp::stop_daemons(ctx.homedir());
        (void)mail::pgp::set_pkcs11_pin_cache(ctx.homedir(), session->ttl_seconds());
    }
    base::Status result = outcome_of(operation(), answerer);
    gpgme_set_passphrase_cb(ctx.get(), nullptr, nullptr);
    return end_session_operation(engine, ctx, key, request, *session, live, answerer,
                                 std::move(result));
}

base::Result<std::pair<TokenKey, token::openpgp::ApplicationData>> the_card() {
    const token::openpgp::CardListing listing = token::openpgp::list_cards();
    if (listing.pcsc_error) return *listing.pcsc_error;
    const token::openpgp::CardEntry* found = nullptr;
    for (const auto& entry : listing.cards) {
        if (!entry.card) continue;
        if (found != nullptr) {
            return base::Error(base::ErrorCode::Ambiguous, "several OpenPGP cards are inserted",
                               "leave only the card to generate keys on");
        }
        found = &entry;
    }
    if (found == nullptr) {
        return base::Error(base::ErrorCode::TokenAbsent, "no OpenPGP card in a reader",
                           "insert the card ('keyfence status' lists what Keyfence sees)");
    }
    mail::pgp::KeyInfo info;
    info.card_serial = found->card->serial_text();
    info.algorithm = "card";
    TokenKey key{gnupg_key(info), std::nullopt};
    describe_card(*found, key);
    key.match.key.uri = "openpgp:" + found->card->serial_text();
    key.match.key.label = "new card keys";
    // The keys to be generated have the card's algorithm attributes (C1).
    const auto& alg = found->card->algorithms[0];
    using Kind = token::openpgp::AlgorithmAttributes::Kind;
    key.match.key.algorithm = alg.kind == Kind::Rsa     ? p11::KeyAlgorithm::Rsa
                              : alg.kind == Kind::EdDsa ? p11::KeyAlgorithm::EdDsa
                                                        : p11::KeyAlgorithm::Ec;
    key.match.key.bits = alg.rsa_bits;
    key.match.key.curve = alg.curve;
    return std::make_pair(std::move(key), *found->card);
}

void add_pgp_commands(CommandContext& context) {
    auto* pgp = context.app.add_subcommand(
        "pgp",
        "PGP/MIME (RFC 3156) through GnuPG with keys on tokens: set up, bind, sign, "
        "verify, encrypt, decrypt");
    pgp->require_subcommand(1);
    add_pgp_setup_commands(context, pgp);
    add_pgp_sign_verify(context, pgp);
    add_pgp_encrypt_decrypt(context, pgp);
    add_pgp_card_keygen(context, pgp);
}

}  // namespace keyfence::cli
