// keyfence status: for every token, the PIN tries left, and for OpenPGP cards the signature
// counter, key slots with algorithms and fingerprints, and whether another process holds the
// reader.

#include <iostream>

#include "base/hex.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_views.hpp"
#include "token/openpgp/card_directory.hpp"

namespace keyfence::cli {
namespace {
namespace pgp = token::openpgp;

nlohmann::json card_json(const pgp::CardEntry& entry) {
    nlohmann::json j = {{"reader", entry.reader},
                        {"reader_held_exclusively", entry.reader_held_exclusively}};
    if (!entry.card) {
        j["openpgp"] = false;
        if (entry.error) j["error"] = to_json(*entry.error);
        return j;
    }
    const pgp::ApplicationData& c = *entry.card;
    j["openpgp"] = true;
    j["serial"] = c.serial_text();
    j["reference"] = "openpgp:" + c.serial_text();
    j["manufacturer"] = c.manufacturer_name();
    j["version"] = std::to_string(c.version_major) + "." + std::to_string(c.version_minor);
    j["test_card"] = c.is_test_card();
    j["pin_tries"] = {{"user", c.pins.pw1_tries},
                      {"reset_code", c.pins.reset_code_tries},
                      {"admin", c.pins.pw3_tries}};
    j["pin1_valid_for_several_signatures"] = c.pins.pw1_valid_for_several_signatures;
    j["signature_counter"] = entry.signature_counter;
    j["cardholder"] = entry.cardholder;
    j["slots"] = nlohmann::json::array();
    for (int i = 0; i < 3; ++i) {
        const auto slot = static_cast<pgp::KeySlot>(i);
        j["slots"].push_back({{"slot", pgp::slot_name(slot)},
                              {"algorithm", c.algorithms[i].describe()},
                              {"fingerprint", base::to_hex(c.fingerprints[i])},
                              {"has_fingerprint", !c.fingerprints[i].empty()}});
    }
    return j;
}

void print_card(const pgp::CardEntry& entry) {
    std::cout << "Reader \"" << entry.reader << "\"";
    if (entry.reader_held_exclusively) std::cout << "  [HELD EXCLUSIVELY BY ANOTHER PROCESS]";
    std::cout << "\n";
    if (!entry.card) {
        std::cout << "  card: not an OpenPGP card, or unreadable";
        if (entry.error) std::cout << " (" << entry.error->message() << ")";
        std::cout << "\n\n";
        return;
    }
    const pgp::ApplicationData& c = *entry.card;
    std::cout << "  OpenPGP card " << c.version_major << "." << c.version_minor << " by "
              << c.manufacturer_name() << ", serial " << c.serial_text();
    if (c.is_test_card()) std::cout << "  [TEST CARD - unregistered manufacturer range]";
    if (!entry.cardholder.empty()) std::cout << "\n  cardholder:        " << entry.cardholder;
    std::cout << "\n  reference:         openpgp:" << c.serial_text()
              << "\n  PIN tries left:    user " << c.pins.pw1_tries << ", reset code "
              << c.pins.reset_code_tries << ", admin " << c.pins.pw3_tries
              << "\n  signature PIN:     "
              << (c.pins.pw1_valid_for_several_signatures ? "valid for several signatures"
                                                          : "asked for every signature")
              << "\n  signature counter: " << entry.signature_counter << "\n";
    for (int i = 0; i < 3; ++i) {
        std::cout << "  " << pgp::slot_name(static_cast<pgp::KeySlot>(i))
                  << " key:           " << c.algorithms[i].describe() << "  "
                  << (c.fingerprints[i].empty() ? std::string("(no fingerprint)")
                                                : base::to_hex(c.fingerprints[i]))
                  << "\n";
    }
    std::cout << "\n";
}

void print_tokens(const std::vector<token::pkcs11::TokenEntry>& tokens) {
    for (const auto& t : tokens) {
        if (!t.info.present || !t.info.pin.initialized) continue;
        const auto& p = t.info.pin;
        std::cout << "PKCS#11 token \"" << t.info.label << "\" (" << t.info.model << ", serial "
                  << t.info.serial << ")\n  user PIN: "
                  << (p.locked      ? "LOCKED"
                      : p.final_try ? "FINAL TRY"
                      : p.count_low ? "a wrong PIN was entered"
                                    : "ok")
                  << "\n\n";
    }
}
}  // namespace

int run_status(const GlobalOptions& globals) {
    auto engine = make_engine(globals);
    std::vector<token::pkcs11::ModuleFailure> failures = engine->module_failures();
    const auto tokens = engine->tokens(failures);
    const pgp::CardListing cards = pgp::list_cards();
    if (globals.json) {
        nlohmann::json j = {{"schema", k_json_schema},
                            {"tokens", nlohmann::json::array()},
                            {"cards", nlohmann::json::array()},
                            {"empty_readers", cards.empty_readers}};
        for (const auto& t : tokens) j["tokens"].push_back(to_json(t.info));
        for (const auto& c : cards.cards) j["cards"].push_back(card_json(c));
        if (cards.pcsc_error) j["pcsc_error"] = to_json(*cards.pcsc_error);
        std::cout << j.dump(2) << "\n";
        return k_exit_ok;
    }
    warn_module_failures(failures);
    print_tokens(tokens);
    if (cards.pcsc_error) {
        std::cout << "Smartcard readers: " << cards.pcsc_error->message() << "\n";
        if (!cards.pcsc_error->hint.empty()) std::cout << "  " << cards.pcsc_error->hint << "\n";
    }
    for (const auto& c : cards.cards) print_card(c);
    for (const auto& r : cards.empty_readers) std::cout << "Reader \"" << r << "\": no card\n";
    return k_exit_ok;
}

void add_status_command(CommandContext& context) {
    auto* cmd = context.app.add_subcommand(
        "status", "PIN tries, signature counters and key slots of tokens and OpenPGP cards");
    context.on_chosen(cmd, std::make_shared<int>(0),
                      [](const GlobalOptions& g, int) { return run_status(g); });
}

}  // namespace keyfence::cli
