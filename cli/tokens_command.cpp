#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_views.hpp"
#include "token/openpgp/card_directory.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;
namespace pgp = token::openpgp;

namespace {
std::string pin_state(const p11::TokenInfo& t) {
    std::string s;
    const auto add = [&s](const char* text) { s += s.empty() ? text : std::string(", ") + text; };
    if (!t.pin.initialized) add("token not initialized");
    if (t.pin.login_required) add("login required");
    if (t.pin.protected_auth_path) add("PIN pad");
    if (t.pin.locked)
        add("USER PIN LOCKED");
    else if (t.pin.final_try)
        add("FINAL TRY (one try left)");
    else if (t.pin.count_low)
        add("a wrong PIN was entered");
    if (t.pin.to_be_changed) add("PIN to be changed");
    return s.empty() ? "no login needed" : s;
}

void print_token(const p11::TokenInfo& t) {
    if (!t.present) {
        std::cout << "Empty slot: " << t.slot_description << "\n  module: " << t.module_path
                  << "\n\n";
        return;
    }
    if (!t.pin.initialized) {
        std::cout << "Uninitialized token in slot " << t.slot_id << " (" << t.slot_description
                  << ")\n  module: " << t.module_path << "\n\n";
        return;
    }
    std::cout << "Token \"" << t.label << "\"";
    if (t.demo)
        std::cout << "  [SOFTWARE DEMO TOKEN - not a hardware token]";
    else if (t.software)
        std::cout << "  [SOFTWARE TOKEN - not a hardware token]";
    std::cout << "\n  manufacturer: " << t.manufacturer << "\n  model:        " << t.model
              << "\n  serial:       " << t.serial << "\n  slot:         " << t.slot_id << " ("
              << t.slot_description << ")\n  module:       " << t.module_path
              << "\n  PIN:          " << pin_state(t) << "\n  uri:          " << t.uri << "\n";
    if (t.software) std::cout << "  software:     " << t.software_reason << "\n";
    std::cout << "\n";
}
}  // namespace

// One entry per OpenPGP card: its reader, reference and the PKCS#11 slots OpenSC shows it in.
void print_card(const pgp::CardEntry& entry, const std::vector<p11::TokenEntry>& tokens) {
    const pgp::ApplicationData& c = *entry.card;
    std::cout << "OpenPGP card " << c.serial_text() << " (" << c.manufacturer_name() << ")";
    if (c.is_test_card()) std::cout << "  [TEST CARD - unregistered manufacturer range]";
    std::cout << "\n  reader:       " << entry.reader
              << "\n  reference:    openpgp:" << c.serial_text() << "\n  PIN tries:    user "
              << c.pins.pw1_tries << ", admin " << c.pins.pw3_tries << "\n";
    for (const auto& t : tokens) {
        if (!pgp::same_card(c, t.info)) continue;
        std::cout << "  PKCS#11:      \"" << t.info.label << "\" in slot " << t.info.slot_id
                  << " of " << t.info.module_path << "\n                " << t.info.uri << "\n";
    }
    std::cout << "\n";
}

int run_tokens(const GlobalOptions& globals) {
    auto engine = make_engine(globals);
    std::vector<p11::ModuleFailure> failures = engine->module_failures();
    const auto tokens = engine->tokens(failures);
    const pgp::CardListing cards = pgp::list_cards();
    if (globals.json) {
        nlohmann::json j = {{"schema", k_json_schema},
                            {"modules", nlohmann::json::array()},
                            {"module_failures", nlohmann::json::array()},
                            {"tokens", nlohmann::json::array()},
                            {"cards", nlohmann::json::array()}};
        for (const auto& m : engine->modules().modules) j["modules"].push_back(to_json(*m));
        for (const auto& f : failures) j["module_failures"].push_back(to_json(f));
        for (const auto& t : tokens) {
            nlohmann::json token = to_json(t.info);
            if (const auto* card = pgp::card_for_token(cards, t.info)) {
                token["openpgp_card"] = "openpgp:" + card->card->serial_text();
            }
            j["tokens"].push_back(std::move(token));
        }
        for (const auto& c : cards.cards) {
            if (!c.card) continue;
            nlohmann::json card = {{"reference", "openpgp:" + c.card->serial_text()},
                                   {"serial", c.card->serial_text()},
                                   {"reader", c.reader},
                                   {"pkcs11_tokens", nlohmann::json::array()}};
            for (const auto& t : tokens) {
                if (pgp::same_card(*c.card, t.info)) card["pkcs11_tokens"].push_back(t.info.uri);
            }
            j["cards"].push_back(std::move(card));
        }
        std::cout << j.dump(2) << "\n";
        return k_exit_ok;
    }
    warn_module_failures(failures);
    std::size_t shown = 0;
    for (const auto& t : tokens) {
        if (pgp::card_for_token(cards, t.info) != nullptr) continue;  // shown with its card
        print_token(t.info);
        ++shown;
    }
    for (const auto& c : cards.cards) {
        if (!c.card) continue;
        print_card(c, tokens);
        ++shown;
    }
    if (shown == 0) {
        std::cout << "No tokens found in " << engine->modules().modules.size() << " module(s) and "
                  << cards.cards.size() << " card reader(s) with a card.\n"
                  << "Plug in a token, or name its PKCS#11 module with --module PATH.\n";
    }
    return k_exit_ok;
}

}  // namespace keyfence::cli
