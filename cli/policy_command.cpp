// keyfence policy show | check: the effective policy with the origin of every value, and
// checking a policy file before it is installed.

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_views.hpp"
#include "engine/policy/effective_policy.hpp"
#include "engine/policy/schema.hpp"

namespace keyfence::cli {
namespace pol = engine::policy;

namespace {

struct PolicyShowOptions {};
struct PolicyCheckOptions {
    std::string file;
    bool user = false;
};

nlohmann::json to_json(const pol::Value& value) {
    return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

nlohmann::json to_json(const pol::Source& source) {
    nlohmann::json j = {{"kind", source.kind_name()}};
    if (source.kind != pol::Source::Kind::Default) {
        j["file"] = source.file;
        j["line"] = source.line;
        j["column"] = source.column;
    }
    return j;
}

nlohmann::json policy_json(const pol::EffectivePolicy& p) {
    nlohmann::json settings = nlohmann::json::object();
    for (const pol::Setting& s : p.settings()) {
        nlohmann::json entry = {{"value", to_json(s.value)},
                                {"source", to_json(s.source)},
                                {"locked", s.locked_by.has_value()}};
        if (s.locked_by) entry["locked_by"] = to_json(*s.locked_by);
        if (s.overruled_user_value)
            entry["overruled_user_value"] = to_json(*s.overruled_user_value);
        settings[s.name] = std::move(entry);
    }
    return {{"schema", k_json_schema},
            {"admin_policy", {{"path", p.paths().admin}, {"present", p.admin_present()}}},
            {"user_config", {{"path", p.paths().user}, {"present", p.user_present()}}},
            {"settings", std::move(settings)},
            {"warnings", p.warnings()}};
}

void print_policy(const pol::EffectivePolicy& p) {
    const auto file_state = [](bool present) { return present ? "" : " (not present)"; };
    std::cout << "Administrator's policy: " << p.paths().admin << file_state(p.admin_present())
              << "\nUser's configuration:   " << p.paths().user << file_state(p.user_present())
              << "\n";
    std::string table;
    for (const pol::Setting& s : p.settings()) {
        const auto dot = s.name.find('.');
        if (s.name.substr(0, dot) != table) {
            table = s.name.substr(0, dot);
            std::cout << "\n[" << table << "]\n";
        }
        char line[256];
        std::snprintf(line, sizeof line, "  %-24s = %-34s ", s.name.substr(dot + 1).c_str(),
                      pol::format_value(s.value).c_str());
        std::cout << line << "# " << s.source.describe();
        if (s.locked_by) std::cout << "; locked by " << s.locked_by->describe();
        std::cout << "\n";
    }
    for (const auto& w : p.warnings()) std::cout << "\nwarning: " << w << "\n";
}

int run_policy_show(const GlobalOptions& globals, const PolicyShowOptions&) {
    auto policy = pol::EffectivePolicy::load(pol::default_policy_paths());
    if (!policy) {
        report_error(policy.error());
        return exit_code_for(policy.error());
    }
    if (globals.json) {
        std::cout << policy_json(*policy).dump(2) << "\n";
    } else {
        print_policy(*policy);
    }
    return k_exit_ok;
}

int run_policy_check(const GlobalOptions&, const PolicyCheckOptions& options) {
    const auto role = options.user ? pol::FileRole::User : pol::FileRole::Admin;
    auto loaded = pol::load_policy_file(options.file, role);
    if (loaded && !loaded->present) {
        loaded = base::Error(base::ErrorCode::Io, "no policy file at " + options.file);
    }
    if (!loaded) {
        // One line per problem, each "file:line:column: message", as compilers print them.
        report_error(loaded.error());
        return exit_code_for(loaded.error());
    }
    std::cout << options.file << ": valid (" << loaded->file.values.size() << " settings";
    if (!options.user) std::cout << ", " << loaded->file.locks.size() << " locks";
    std::cout << ")\n";
    return k_exit_ok;
}

}  // namespace

void add_policy_commands(CommandContext& context) {
    auto* policy = context.app.add_subcommand("policy", "Show or check the signing policy");
    policy->require_subcommand(1);

    auto* show = policy->add_subcommand(
        "show", "The effective policy, and where each value comes from (--json for JSON)");
    context.on_chosen(show, std::make_shared<PolicyShowOptions>(), run_policy_show);

    auto check = std::make_shared<PolicyCheckOptions>();
    auto* check_cmd = policy->add_subcommand(
        "check", "Check a policy file: every problem with its line; exit 7 if there is one");
    check_cmd->add_option("FILE", check->file, "The policy file")->required();
    check_cmd->add_flag("--user", check->user,
                        "Check it as a user's config.toml (which may not lock settings)");
    context.on_chosen(check_cmd, check, run_policy_check);
}

}  // namespace keyfence::cli
