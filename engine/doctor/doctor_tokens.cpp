// doctor: the tokens themselves — modules, PIN tries on tokens and cards, the policy, the agent.

#include "engine/doctor/doctor.hpp"
#include "engine/policy/effective_policy.hpp"
#include "token/openpgp/card_directory.hpp"

namespace keyfence::engine::doctor {

std::string_view severity_name(Severity s) {
    switch (s) {
        case Severity::Ok:
            return "ok";
        case Severity::Info:
            return "info";
        case Severity::Warning:
            return "warning";
        case Severity::Problem:
            return "problem";
    }
    return "info";
}

void check_modules(Engine& engine, std::vector<Finding>& out) {
    for (const auto& module : engine.modules().modules) {
        out.push_back({"modules", Severity::Ok,
                       "PKCS#11 module " + module->path() + " loads (" +
                           module->info().description + " " + module->info().library_version + ")",
                       ""});
    }
    for (const auto& failure : engine.module_failures()) {
        out.push_back(
            {"modules", Severity::Problem,
             "PKCS#11 module " + failure.path + " does not load: " + failure.error.message(),
             failure.error.hint.empty()
                 ? "reinstall the module's package, or remove its p11-kit registration "
                   "(/usr/share/p11-kit/modules/*.module)"
                 : failure.error.hint});
    }
    if (engine.modules().modules.empty()) {
        out.push_back({"modules", Severity::Warning, "no PKCS#11 module is loaded",
                       "install OpenSC ('sudo apt install opensc-pkcs11') or name your token's "
                       "module with --module PATH"});
    }
}

void check_pins(Engine& engine, std::vector<Finding>& out) {
    std::vector<token::pkcs11::ModuleFailure> failures;
    for (const auto& t : engine.tokens(failures)) {
        if (!t.info.present || !t.info.pin.initialized) continue;
        const std::string name =
            "token \"" + t.info.label + "\" (" + t.info.model + ", serial " + t.info.serial + ")";
        const auto& p = t.info.pin;
        if (p.locked) {
            out.push_back({"pin", Severity::Problem, name + ": the user PIN is locked",
                           "unblock it with the PUK or security-officer PIN (for example "
                           "'pkcs11-tool --login --login-type so --init-pin')"});
        } else if (p.final_try) {
            out.push_back({"pin", Severity::Warning, name + ": one PIN try left",
                           "be sure of the PIN; Keyfence asks for --allow-last-pin-try"});
        } else if (p.count_low) {
            out.push_back({"pin", Severity::Info,
                           name + ": a wrong PIN was entered since the last "
                                  "good one",
                           ""});
        } else {
            out.push_back({"pin", Severity::Ok, name + ": PIN ok", ""});
        }
        if (t.info.software) {
            out.push_back({"pin", Severity::Info,
                           name + " is a software token: " + t.info.software_reason, ""});
        }
    }
    const token::openpgp::CardListing cards = token::openpgp::list_cards();
    for (const auto& c : cards.cards) {
        if (!c.card) continue;
        const auto& pins = c.card->pins;
        const std::string name = "OpenPGP card " + c.card->serial_text();
        if (pins.pw1_tries == 0) {
            out.push_back({"pin", Severity::Problem, name + ": the user PIN is blocked",
                           "unblock it with the admin PIN ('gpg --card-edit', 'admin', 'passwd', "
                           "'2') or the resetting code ('gpg --card-edit', 'unblock')"});
        } else if (pins.pw1_tries == 1) {
            out.push_back({"pin", Severity::Warning, name + ": one user PIN try left",
                           "be sure of the PIN; Keyfence asks for --allow-last-pin-try"});
        } else {
            out.push_back({"pin", Severity::Ok,
                           name + ": " + std::to_string(pins.pw1_tries) + " user PIN tries, " +
                               std::to_string(pins.pw3_tries) + " admin PIN tries",
                           ""});
        }
        if (pins.pw3_tries == 0) {
            out.push_back({"pin", Severity::Problem, name + ": the admin PIN is blocked",
                           "only a factory reset helps ('gpg --card-edit', 'admin', "
                           "'factory-reset'); the card's keys are lost"});
        }
    }
}

void check_roca(Engine& engine, std::vector<Finding>& out) {
    std::vector<token::pkcs11::ModuleFailure> failures;
    auto keys = engine.keys("", failures);
    if (!keys) return;
    for (const auto& k : *keys) {
        if (!k.key.roca) continue;
        out.push_back({"keys", Severity::Problem,
                       "the RSA key " + k.key.uri +
                           " has the ROCA fingerprint (CVE-2017-15361): "
                           "its private key can be computed from its public key",
                       "generate a new key on an unaffected token, revoke the certificate of this "
                       "one; Keyfence refuses to use it"});
    }
}

void check_policy(Engine& engine, std::vector<Finding>& out) {
    auto policy = engine.policy();
    if (!policy) {
        out.push_back({"policy", Severity::Problem,
                       "the policy does not load: " + policy.error().message(),
                       "fix the file ('keyfence policy check FILE' shows every problem with its "
                       "line)"});
        return;
    }
    const auto& p = (*policy)->values();
    std::string summary = std::string("policy in effect: administrator's file ") +
                          ((*policy)->admin_present() ? (*policy)->paths().admin : "absent") +
                          ", user's file " +
                          ((*policy)->user_present() ? (*policy)->paths().user : "absent") +
                          "; require_hardware=" + (p.tokens.require_hardware ? "true" : "false") +
                          ", audit required=" + (p.audit.required ? "true" : "false");
    out.push_back({"policy", Severity::Ok, summary, ""});
    for (const auto& w : (*policy)->warnings()) out.push_back({"policy", Severity::Info, w, ""});
}

std::vector<Finding> run_checks(Engine& engine, const Environment& env) {
    std::vector<Finding> findings;
    check_pcsc(findings);
    check_modules(engine, findings);
    check_pins(engine, findings);
    check_roca(engine, findings);
    check_gnupg(env, findings);
    check_rules(env, findings);
    check_versions(findings);
    check_policy(engine, findings);
    check_agent(findings);
    return findings;
}

}  // namespace keyfence::engine::doctor
