// keyfence pgp card-keygen: keys generated on an OpenPGP card, through gpg --card-edit.

#include <algorithm>
#include <cstdio>
#include <optional>

#include "base/logger.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pgp_support.hpp"
#include "cli/smime_support.hpp"
#include "mail/pgp/bind.hpp"
#include "mail/pgp/card_attributes.hpp"
#include "mail/pgp/card_keygen.hpp"
#include "token/pin/fd_pin_source.hpp"
#include "token/pin/pinentry_pin_source.hpp"

namespace keyfence::cli {
namespace {
using token::openpgp::AlgorithmAttributes;

struct CardKeygenOptions {
    std::string homedir;
    std::string algo = "rsa2048";
    std::string uid;
    bool replace = false;
};

// The --algo names as the card's algorithm attributes (OpenPGP card 3.4 §4.4.3.9), per slot
// (0 signature, 1 decryption, 2 authentication).
std::string slot_algo(const std::string& algo, int slot) {
    if (slot == 1 && algo == "nistp256") return "ecdh-p256";
    if (slot == 1 && algo == "ed25519") return "cv25519";
    return algo;
}

bool card_has(const AlgorithmAttributes& a, const std::string& algo) {
    using Kind = AlgorithmAttributes::Kind;
    if (algo == "rsa2048") return a.kind == Kind::Rsa && a.rsa_bits == 2048;
    if (algo == "rsa4096") return a.kind == Kind::Rsa && a.rsa_bits == 4096;
    if (algo == "nistp256") return a.kind == Kind::Ecdsa && a.curve == "P-256";
    if (algo == "ecdh-p256") return a.kind == Kind::Ecdh && a.curve == "P-256";
    if (algo == "ed25519") return a.kind == Kind::EdDsa && a.curve == "Ed25519";
    if (algo == "cv25519") return a.kind == Kind::Ecdh && a.curve == "Cv25519";
    return false;
}

// The admin PIN, the PIN, and the PIN once for each of the three self-signatures.
constexpr int k_max_pin_requests = 5;

base::Pin copy_pin(const base::Pin& pin) {
    base::Pin copy;
    for (auto b : pin.bytes()) copy.push_back(b);
    return copy;
}

// The admin PIN (PW3) gets its own lockout check: OpenPGP card 3.4 §4.4.1, DO C4.
base::Status check_admin_pin(int tries, bool allow_last) {
    if (tries == 0) {
        return base::Error(base::ErrorCode::PinLocked,
                           "the card's admin PIN is blocked; no PIN was sent",
                           "the card must be reset (gpg --card-edit, admin, factory-reset)");
    }
    if (tries == 1 && !allow_last) {
        return base::Error(base::ErrorCode::LastTryRefused,
                           "only one admin PIN try is left on the card; Keyfence will not spend "
                           "it without your say-so",
                           "if you are sure of the admin PIN, add --allow-last-pin-try");
    }
    return {};
}

base::Status card_keygen(const GlobalOptions& globals, const CardKeygenOptions& options) {
    KEYFENCE_TRY_ASSIGN(uid, mail::pgp::split_uid(options.uid));
    // Before any PIN and any change to the card: gpg's dialogue would refuse the user ID only
    // after the admin PIN opened it (and the card's attributes may have been changed).
    KEYFENCE_TRY(mail::pgp::check_keygen_user_id(uid.first, uid.second));
    auto engine = make_engine(globals);
    KEYFENCE_TRY_ASSIGN(ctx, open_home(options.homedir));
    KEYFENCE_TRY_ASSIGN(found, the_card());
    auto& [key, card] = found;
    // A card whose attributes differ gets them changed first; that destroys its keys, so it
    // needs --replace as much as overwriting them does.
    bool has_algo = true;
    for (int slot = 0; slot < 3; ++slot) {
        has_algo = has_algo && card_has(card.algorithms[slot], slot_algo(options.algo, slot));
    }
    bool has_keys = false;
    for (const auto& fpr : card.fingerprints) {
        has_keys = has_keys || std::any_of(fpr.begin(), fpr.end(), [](auto b) { return b != 0; });
    }
    if (!has_algo && has_keys && !options.replace) {
        return base::Error(base::ErrorCode::Cancelled,
                           "the card already holds keys (" + card.algorithms[0].describe() +
                               "); nothing was changed",
                           "give --replace to overwrite them (the old keys are lost)");
    }
    KEYFENCE_TRY(check_admin_pin(card.pins.pw3_tries, globals.allow_last_pin_try));
    auto request = pgp_request(engine::Operation::Sign, key.match, nullptr, {});
    request.summary = {
        {"Generate", "new signature, decryption and authentication keys on the card" +
                         std::string(options.replace ? " (the old keys are lost)" : "")},
        {"Algorithm", options.algo},
        {"User ID", options.uid}};
    token::PinRequest user_prompt = pin_prompt(key, request);
    token::PinRequest admin_prompt = user_prompt;
    admin_prompt.operation = "generate keys with the ADMIN PIN";
    admin_prompt.tries_left = card.pins.pw3_tries;
    admin_prompt.final_try = card.pins.pw3_tries == 1;
    // gpg asks for the admin PIN, then the PIN, and checks both on the card before it
    // generates (--pin-fd: one line each). Signing the new certificate, gpg-agent asks for
    // the PIN again (PW1 for signatures, OpenPGP card 3.4 §7.2.2): only then, and only once
    // the card accepted it, is the same PIN given again — never after a rejection
    // (prev_was_bad cancels), and at most k_max_pin_requests requests in all.
    std::unique_ptr<token::PinSource> admin_source;
    if (globals.pin_fd >= 0) {
        admin_source = std::make_unique<token::FdPinSource>(globals.pin_fd);
    } else {
        admin_source = std::make_unique<token::PinentryPinSource>(globals.pinentry);
    }
    bool accepted = false;
    std::optional<base::Pin> verified_pin;
    // The admin PIN the card accepted when its key attributes were changed: gpg asks for it
    // again to generate (scdaemon forgot the verification), and gets it without a new prompt.
    std::optional<base::Pin> admin_pin;
    const mail::pgp::PinAsker asker =
        [&](const mail::pgp::PassphraseQuestion& q) -> base::Result<base::Pin> {
        if (q.index == 1) {
            if (admin_pin) return copy_pin(*admin_pin);
            return admin_source->ask(admin_prompt);
        }
        if (q.index == 2) {
            KEYFENCE_TRY_ASSIGN(pin, engine->pin_source().ask(user_prompt));
            verified_pin = copy_pin(pin);
            return pin;
        }
        if (!accepted || !verified_pin) {
            return base::Error(base::ErrorCode::Cancelled, "gpg asked for the PIN once more");
        }
        return copy_pin(*verified_pin);
    };
    std::string fingerprint;
    KEYFENCE_TRY(run_private_operation(
        *engine, ctx, key, request,
        [&]() -> base::Status {
            if (!has_algo) {
                KEYFENCE_TRY_ASSIGN(pin,
                                    mail::pgp::set_card_algorithm(ctx.homedir(), options.algo, [&] {
                                        return admin_source->ask(admin_prompt);
                                    }));
                admin_pin = std::move(pin);
            }
            KEYFENCE_TRY_ASSIGN(
                fpr, mail::pgp::generate_on_card(
                         ctx, {uid.first, uid.second, options.replace, [&] { accepted = true; }}));
            fingerprint = std::move(fpr);
            return {};
        },
        asker, k_max_pin_requests));
    std::printf("OpenPGP key %s\n  user ID: %s\n  on card: %s (%s)\n", fingerprint.c_str(),
                options.uid.c_str(), card.serial_text().c_str(), options.algo.c_str());
    return {};
}
}  // namespace

void add_pgp_card_keygen(CommandContext& context, CLI::App* pgp) {
    auto keygen = std::make_shared<CardKeygenOptions>();
    auto* k = pgp->add_subcommand(
        "card-keygen", "Generate keys on an OpenPGP card and make their OpenPGP certificate");
    add_homedir_option(k, keygen->homedir);
    k->add_option(
         "--algo", keygen->algo,
         "rsa2048 (default), rsa4096, nistp256 or ed25519; the card's key attributes are set to it")
        ->check(CLI::IsMember({"rsa2048", "rsa4096", "nistp256", "ed25519"}));
    k->add_option("--uid", keygen->uid, "The user ID, \"Name <address>\"")->required();
    k->add_flag("--replace", keygen->replace, "Overwrite keys the card already holds");
    context.on_chosen(k, keygen, [](const GlobalOptions& g, const CardKeygenOptions& o) {
        return finish(card_keygen(g, o));
    });
}

}  // namespace keyfence::cli
