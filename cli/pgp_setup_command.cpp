// keyfence pgp setup | bind | import.

#include <strings.h>

#include <cstdio>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pgp_support.hpp"
#include "cli/smime_support.hpp"
#include "mail/pgp/bind.hpp"
#include "mail/pgp/homedir.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;

namespace {
constexpr const char* k_p11_kit_proxy = "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so";

struct SetupOptions {
    std::string homedir;
    bool card = false;
    bool pkcs11 = false;
    std::string reader;
};

base::Status pgp_setup(const GlobalOptions& globals, const SetupOptions& options) {
    mail::pgp::HomeSetup setup;
    setup.homedir = options.homedir;
    setup.backend = options.card ? mail::pgp::Backend::Card : mail::pgp::Backend::Pkcs11;
    setup.reader_port = options.reader;
    setup.pkcs11_modules = globals.modules;
    // Without --module, gnupg-pkcs11-scd loads p11-kit's proxy: every registered module.
    if (setup.pkcs11_modules.empty() && !globals.no_p11_kit) {
        setup.pkcs11_modules.push_back(k_p11_kit_proxy);
    }
    KEYFENCE_TRY_ASSIGN(home, mail::pgp::setup_home(setup));
    // The daemons read their configuration when they start.
    (void)mail::pgp::stop_daemons(home);
    std::printf("GnuPG home: %s\n", home.c_str());
    std::printf("smartcard daemon: %s\n",
                options.card ? "scdaemon through pcscd (pcsc-shared)" : "gnupg-pkcs11-scd");
    std::printf("PIN entry: loopback through Keyfence; gpg-agent caches no PIN\n");
    return {};
}

struct BindOptions {
    std::string homedir;
    std::string key_uri;
    std::string uid;
};

// gnupg-pkcs11-scd's id of a key: manufacturer/model/serial/label/CKA_ID.
bool same_key(const mail::pgp::LearnedKey& learned, const p11::KeyMatch& match) {
    const auto& p = learned.id_parts;
    return p.size() == 5 && p[0] == match.token.manufacturer && p[1] == match.token.model &&
           p[2] == match.token.serial && p[3] == match.token.label &&
           strcasecmp(base::to_hex(match.key.id).c_str(), p[4].c_str()) == 0;
}

base::Status pgp_bind(const GlobalOptions& globals, const BindOptions& options) {
    KEYFENCE_TRY(mail::pgp::split_uid(options.uid));
    auto engine = make_engine(globals);
    warn_module_failures(engine->module_failures());
    KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
    if (match.key.algorithm != p11::KeyAlgorithm::Rsa) {
        return base::Error(
            base::ErrorCode::Unsupported,
            "gnupg-pkcs11-scd 0.10 uses only RSA keys; " + match.key.uri + " is not one",
            "bind an RSA key, or use an OpenPGP card for EC keys");
    }
    KEYFENCE_TRY_ASSIGN(ctx, open_home(options.homedir));
    KEYFENCE_TRY_ASSIGN(learned, mail::pgp::learn_token_keys(ctx.homedir()));
    std::string keygrip;
    for (const auto& k : learned) {
        if (same_key(k, match)) keygrip = k.keygrip;
    }
    if (keygrip.empty()) {
        return base::Error(base::ErrorCode::KeyNotFound,
                           "gnupg-pkcs11-scd does not offer " + match.key.uri,
                           "the key needs a certificate on the token with the same CKA_ID, and "
                           "the home must load its module ('keyfence --module PATH pgp setup "
                           "--pkcs11')");
    }
    engine::OperationRequest request = pgp_request(engine::Operation::Sign, match, nullptr, {});
    request.summary = {{"Certify", "a new OpenPGP certificate for this key"},
                       {"User ID", options.uid},
                       {"Keygrip", keygrip}};
    std::string fingerprint;
    KEYFENCE_TRY(run_private_operation(
        *engine, ctx, TokenKey{match, std::nullopt}, request, [&]() -> base::Status {
            KEYFENCE_TRY_ASSIGN(fpr, mail::pgp::create_certificate(ctx, keygrip, options.uid));
            fingerprint = std::move(fpr);
            return {};
        }));
    KEYFENCE_TRY(mail::pgp::record_binding(ctx.homedir(), keygrip, match.key.uri));
    std::printf("OpenPGP key %s\n  user ID: %s\n  on token key: %s\n  keygrip: %s\n",
                fingerprint.c_str(), options.uid.c_str(), match.key.uri.c_str(), keygrip.c_str());
    return {};
}

struct ImportOptions {
    std::string homedir;
    std::string file;
};

base::Status pgp_import(const ImportOptions& options) {
    KEYFENCE_TRY_ASSIGN(ctx, open_home(options.homedir));
    KEYFENCE_TRY_ASSIGN(data, base::read_all(options.file));
    KEYFENCE_TRY_ASSIGN(count, mail::pgp::import_keys(ctx, data));
    std::printf("imported %d key%s into %s\n", count, count == 1 ? "" : "s", ctx.homedir().c_str());
    return {};
}
}  // namespace

void add_pgp_setup_commands(CommandContext& context, CLI::App* pgp) {
    auto setup = std::make_shared<SetupOptions>();
    auto* s = pgp->add_subcommand(
        "setup",
        "Make Keyfence's GnuPG home: loopback PIN entry, no PIN caching, the token's "
        "smartcard daemon");
    add_homedir_option(s, setup->homedir);
    auto* card = s->add_flag("--card", setup->card, "OpenPGP cards through scdaemon and pcscd");
    auto* pkcs11 = s->add_flag("--pkcs11", setup->pkcs11,
                               "PKCS#11 tokens through gnupg-pkcs11-scd (the --module modules)");
    card->excludes(pkcs11);
    s->add_option("--reader", setup->reader, "The PC/SC reader scdaemon uses (--card)");
    context.on_chosen(s, setup, [](const GlobalOptions& g, const SetupOptions& o) {
        if (!o.card && !o.pkcs11) {
            report_error(base::Error(base::ErrorCode::Usage, "give --card or --pkcs11"));
            return static_cast<int>(k_exit_usage);
        }
        return finish(pgp_setup(g, o));
    });

    auto bind = std::make_shared<BindOptions>();
    auto* b = pgp->add_subcommand("bind",
                                  "Make an OpenPGP certificate for an RSA key on a PKCS#11 token");
    add_homedir_option(b, bind->homedir);
    b->add_option("--key", bind->key_uri, "The key's PKCS#11 URI (see 'keyfence keys')")
        ->required();
    b->add_option("--uid", bind->uid, "The user ID, \"Name <address>\"")->required();
    context.on_chosen(b, bind, [](const GlobalOptions& g, const BindOptions& o) {
        return finish(pgp_bind(g, o));
    });

    auto import = std::make_shared<ImportOptions>();
    auto* i = pgp->add_subcommand("import", "Import OpenPGP public keys (recipients, signers)");
    add_homedir_option(i, import->homedir);
    i->add_option("FILE", import->file, "The keys (armored or binary)")->required();
    context.on_chosen(i, import, [](const GlobalOptions&, const ImportOptions& o) {
        return finish(pgp_import(o));
    });
}

}  // namespace keyfence::cli
