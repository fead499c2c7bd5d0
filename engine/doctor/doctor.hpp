#pragma once
// keyfence doctor: why a token is not working, in words a user can act on. Each check gives
// findings with a suggested fix. Nothing here prints or stores a PIN or key material.

#include <string>
#include <vector>

#include "engine/engine.hpp"

namespace keyfence::engine::doctor {

enum class Severity { Ok, Info, Warning, Problem };
std::string_view severity_name(Severity s);  ///< "ok", "info", "warning", "problem"

struct Finding {
    std::string check;  ///< "pcscd", "readers", "modules", "pin", "gnupg", "udev", ...
    Severity severity = Severity::Ok;
    std::string summary;  ///< one line: what is the case
    std::string fix;      ///< what to do (empty when nothing is to be done)
};

/// Where doctor looks for configuration; tests point these into their own world.
struct Environment {
    std::string gnupg_home;                   ///< ${GNUPGHOME:-~/.gnupg}
    std::vector<std::string> udev_rule_dirs;  ///< /etc/udev/rules.d, /usr/lib/udev/rules.d, ...
    std::vector<std::string> polkit_rule_dirs;
    static Environment system();
};

/// Runs every check: pcscd and its readers (and who holds them), the PKCS#11 modules and
/// whether each loads, OpenSC and GnuPG versions, GnuPG's scdaemon settings, udev and polkit
/// rules, PIN tries left on every token and card, the policy in effect, and the agent.
std::vector<Finding> run_checks(Engine& engine, const Environment& env);

// The checks, one per concern (doctor_system.cpp, doctor_tokens.cpp).
void check_pcsc(std::vector<Finding>& out);
void check_gnupg(const Environment& env, std::vector<Finding>& out);
void check_rules(const Environment& env, std::vector<Finding>& out);
void check_versions(std::vector<Finding>& out);
void check_modules(Engine& engine, std::vector<Finding>& out);
void check_pins(Engine& engine, std::vector<Finding>& out);
void check_roca(Engine& engine, std::vector<Finding>& out);
void check_policy(Engine& engine, std::vector<Finding>& out);
/// The agent: running or not, its socket, its PIN sessions; a socket directory that is not
/// private to the user is a problem.
void check_agent(std::vector<Finding>& out);

}  // namespace keyfence::engine::doctor
