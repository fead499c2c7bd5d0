#include <iostream>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "base/openssl_error.hpp"
#include "cli/command.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_views.hpp"
#include "token/openpgp/card_directory.hpp"
#include "token/pkcs11/public_key.hpp"

#include <openssl/pem.h>

namespace keyfence::cli {
namespace p11 = token::pkcs11;

namespace {
std::string describe_algorithm(const p11::ObjectInfo& k) {
    switch (k.algorithm) {
        case p11::KeyAlgorithm::Rsa:
            return "RSA " + std::to_string(k.bits);
        case p11::KeyAlgorithm::Ec:
            return "EC " + k.curve;
        case p11::KeyAlgorithm::EdDsa:
            return "EdDSA " + k.curve;
        case p11::KeyAlgorithm::Montgomery:
            return "Montgomery " + k.curve;
        default:
            return "unknown type";
    }
}

std::string usages(const p11::ObjectInfo& k) {
    if (!k.usages_known) return "(shown after login)";
    std::string s;
    if (k.can_sign) s += "sign ";
    if (k.can_decrypt) s += "decrypt ";
    if (k.can_derive) s += "derive ";
    if (k.always_authenticate) s += "always-authenticate ";
    return s.empty() ? "none" : s;
}

void print_key(const p11::KeyMatch& m, const token::openpgp::CardListing& cards) {
    const p11::ObjectInfo& k = m.key;
    std::cout << "Key \"" << k.label << "\"  " << describe_algorithm(k) << "  on token \""
              << m.token.label << "\"";
    if (m.token.demo)
        std::cout << "  [SOFTWARE DEMO TOKEN]";
    else if (m.token.software)
        std::cout << "  [SOFTWARE TOKEN]";
    if (const auto* card = token::openpgp::card_for_token(cards, m.token)) {
        std::cout << "\n  card:        openpgp:" << card->card->serial_text() << " in "
                  << card->reader;
    }
    std::cout << "\n  uri:         " << k.uri << "\n  id:          " << base::to_hex(k.id)
              << "\n  usages:      " << usages(k) << "\n";
    if (!k.supported) std::cout << "  UNSUPPORTED: " << k.unsupported_reason << "\n";
    if (k.roca) {
        std::cout << "  WARNING:     ROCA-vulnerable RSA key (CVE-2017-15361): the private key can "
                     "be computed from the public key; replace it\n";
    }
    if (!k.public_key_sha256.empty()) {
        std::cout << "  public key:  SHA-256 " << k.public_key_sha256 << " (from "
                  << k.public_key_source << ")\n";
    }
    if (k.certificate) {
        std::cout << "  certificate: " << k.certificate->subject << "\n";
        if (!k.certificate->emails.empty()) {
            std::cout << "  email:      ";
            for (const auto& e : k.certificate->emails) std::cout << " " << e;
            std::cout << "\n";
        }
        std::cout << "  valid:       " << k.certificate->not_before << " to "
                  << k.certificate->not_after << "\n";
    } else {
        std::cout << "  certificate: none on the token\n";
    }
    std::cout << "\n";
}
}  // namespace

int run_keys(const GlobalOptions& globals, const KeysOptions& options) {
    auto engine = make_engine(globals);
    std::vector<p11::ModuleFailure> failures = engine->module_failures();
    auto keys = engine->keys(options.token_uri, failures);
    if (!keys) {
        report_error(keys.error());
        return exit_code_for(keys.error());
    }
    if (globals.json) {
        nlohmann::json j = {{"schema", k_json_schema},
                            {"module_failures", nlohmann::json::array()},
                            {"keys", nlohmann::json::array()}};
        for (const auto& f : failures) j["module_failures"].push_back(to_json(f));
        for (const auto& k : *keys) {
            nlohmann::json entry = to_json(k.key);
            entry["token"] = to_json(k.token);
            j["keys"].push_back(std::move(entry));
        }
        std::cout << j.dump(2) << "\n";
        return k_exit_ok;
    }
    warn_module_failures(failures);
    const token::openpgp::CardListing cards = token::openpgp::list_cards();
    if (keys->empty()) std::cout << "No keys found.\n";
    for (const auto& k : *keys) print_key(k, cards);
    return k_exit_ok;
}

namespace {
base::Result<base::EvpPkeyPtr> find_public_key(engine::Engine& engine, const std::string& key) {
    if (token::openpgp::is_card_reference(key)) return engine.card_public_key(key);
    warn_module_failures(engine.module_failures());
    KEYFENCE_TRY_ASSIGN(match, engine.find_key(key));
    if (match.key.public_key.empty()) {
        return base::Error(base::ErrorCode::KeyNotFound,
                           "the token shows no public key or certificate for " + match.key.uri);
    }
    return p11::public_key_from_spki(match.key.public_key);
}

base::Status write_public_key(const GlobalOptions& globals, const PubkeyOptions& options) {
    auto engine = make_engine(globals);
    KEYFENCE_TRY_ASSIGN(pub, find_public_key(*engine, options.key_uri));
    base::BioPtr bio(BIO_new(BIO_s_mem()));
    if (PEM_write_bio_PUBKEY(bio.get(), pub.get()) != 1) {
        return base::openssl_error(base::ErrorCode::Internal, "could not write the key");
    }
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    KEYFENCE_TRY(out.write(std::string_view(data, static_cast<std::size_t>(len))));
    return out.commit();
}
}  // namespace

int run_pubkey(const GlobalOptions& globals, const PubkeyOptions& options) {
    base::Status status = write_public_key(globals, options);
    if (!status) {
        report_error(status.error());
        return exit_code_for(status.error());
    }
    return k_exit_ok;
}

void add_token_commands(CommandContext& context) {
    auto* tokens = context.app.add_subcommand("tokens", "List PKCS#11 tokens and their PIN state");
    context.on_chosen(tokens, std::make_shared<int>(0),
                      [](const GlobalOptions& g, int) { return run_tokens(g); });

    auto keys = std::make_shared<KeysOptions>();
    auto* keys_cmd = context.app.add_subcommand("keys", "List the keys on the tokens");
    keys_cmd->add_option("--token", keys->token_uri, "Only tokens matching this PKCS#11 URI");
    context.on_chosen(keys_cmd, keys, run_keys);

    auto pubkey = std::make_shared<PubkeyOptions>();
    auto* pubkey_cmd = context.app.add_subcommand("pubkey", "Write a key's public key as PEM");
    pubkey_cmd
        ->add_option("--key", pubkey->key_uri, "A PKCS#11 URI or openpgp:SERIAL[/sig|dec|aut]")
        ->required();
    pubkey_cmd->add_option("--out", pubkey->out, "Where to write it (default: stdout)");
    context.on_chosen(pubkey_cmd, pubkey, run_pubkey);
}

}  // namespace keyfence::cli
