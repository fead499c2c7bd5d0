#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_views.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;

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

int run_tokens(const GlobalOptions& globals) {
    auto engine = make_engine(globals);
    std::vector<p11::ModuleFailure> failures = engine->module_failures();
    const auto tokens = engine->tokens(failures);
    if (globals.json) {
        nlohmann::json j = {{"schema", k_json_schema},
                            {"modules", nlohmann::json::array()},
                            {"module_failures", nlohmann::json::array()},
                            {"tokens", nlohmann::json::array()}};
        for (const auto& m : engine->modules().modules) j["modules"].push_back(to_json(*m));
        for (const auto& f : failures) j["module_failures"].push_back(to_json(f));
        for (const auto& t : tokens) j["tokens"].push_back(to_json(t.info));
        std::cout << j.dump(2) << "\n";
        return k_exit_ok;
    }
    warn_module_failures(failures);
    if (tokens.empty()) {
        std::cout << "No tokens found in " << engine->modules().modules.size() << " module(s).\n"
                  << "Plug in a token, or name its PKCS#11 module with --module PATH.\n";
    }
    for (const auto& t : tokens) print_token(t.info);
    return k_exit_ok;
}

}  // namespace keyfence::cli
