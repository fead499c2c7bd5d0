// keyfence audit verify | show: checking the audit log's hash chain, and listing its records.

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_views.hpp"
#include "engine/audit/audit_log.hpp"
#include "engine/audit/audit_time.hpp"
#include "engine/audit/audit_verify.hpp"
#include "engine/policy/effective_policy.hpp"

namespace keyfence::cli {
namespace audit = engine::audit;

namespace {

struct AuditOptions {
    std::string log;    ///< --log; empty: the policy's audit.path
    std::string since;  ///< show only
};

// The log to read: --log, else where the effective policy writes it.
base::Result<std::string> log_path(const AuditOptions& options) {
    if (!options.log.empty()) return options.log;
    KEYFENCE_TRY_ASSIGN(
        policy, engine::policy::EffectivePolicy::load(engine::policy::default_policy_paths()));
    return audit::resolve_log_path(policy.values().audit.path);
}

int fail(const base::Error& error) {
    report_error(error);
    return exit_code_for(error);
}

int run_audit_verify(const GlobalOptions& globals, const AuditOptions& options) {
    auto path = log_path(options);
    if (!path) return fail(path.error());
    auto report = audit::verify_log(*path);
    if (!report) return fail(report.error());
    if (globals.json) {
        nlohmann::json j = {{"schema", k_json_schema},
                            {"path", *path},
                            {"intact", !report->problem},
                            {"records_verified", report->records},
                            {"head", report->head}};
        if (report->problem) {
            j["problem"] = {{"kind", audit::kind_name(report->problem->kind)},
                            {"line", report->problem->line},
                            {"message", report->problem->message}};
        }
        std::cout << j.dump(2) << "\n";
    } else if (report->problem) {
        std::fprintf(stderr, "keyfence: %s:%d: %s\n", path->c_str(), report->problem->line,
                     report->problem->message.c_str());
        std::fprintf(stderr,
                     "  what to do: keep the log as it is for inspection; records before line "
                     "%d are intact\n",
                     report->problem->line);
    } else {
        std::cout << *path << ": " << report->records << " records, chain intact\nhead: "
                  << (report->head.empty() ? "(empty log)" : report->head) << "\n";
    }
    return report->problem ? k_exit_not_verified : k_exit_ok;
}

std::string field(const nlohmann::json& r, const char* a, const char* b = nullptr) {
    const nlohmann::json* v = r.contains(a) ? &r[a] : nullptr;
    if (v != nullptr && b != nullptr) v = v->is_object() && v->contains(b) ? &(*v)[b] : nullptr;
    if (v == nullptr || v->is_null()) return "-";
    return v->is_string() ? v->get<std::string>() : v->dump();
}

void print_record(const nlohmann::json& r) {
    std::string outcome = field(r, "outcome", "result");
    if (r.contains("outcome") && r["outcome"].contains("rule")) {
        outcome += " (" + field(r, "outcome", "rule") + ")";
    } else if (outcome != "success") {
        outcome += " (" + field(r, "outcome", "error") + ")";
    }
    std::cout << field(r, "time") << "  #" << field(r, "seq") << "  " << field(r, "operation")
              << " " << field(r, "protocol") << "  " << outcome << "\n    key "
              << field(r, "key", "label") << " on " << field(r, "token", "model") << " serial "
              << field(r, "token", "serial") << "; content SHA-256 "
              << field(r, "content", "sha256") << "; by " << field(r, "process", "executable")
              << " pid " << field(r, "process", "pid") << " uid " << field(r, "process", "uid")
              << "\n";
}

int run_audit_show(const GlobalOptions& globals, const AuditOptions& options) {
    std::string since;
    if (!options.since.empty()) {
        auto parsed = audit::parse_since(options.since, std::chrono::system_clock::now());
        if (!parsed) return fail(parsed.error());
        since = *parsed;
    }
    auto path = log_path(options);
    if (!path) return fail(path.error());
    auto lines = audit::read_log(*path);
    if (!lines) return fail(lines.error());
    nlohmann::json records = nlohmann::json::array();
    for (const auto& l : *lines) {
        if (!l.record.is_object()) {
            std::fprintf(stderr, "keyfence: warning: %s:%d is not a record (audit verify)\n",
                         path->c_str(), l.line);
            continue;
        }
        if (!since.empty() && field(l.record, "time") < since) continue;
        if (globals.json) {
            records.push_back(l.record);
        } else {
            print_record(l.record);
        }
    }
    if (globals.json) {
        std::cout << nlohmann::json{{"schema", k_json_schema},
                                    {"path", *path},
                                    {"records", records}}
                         .dump(2)
                  << "\n";
    }
    return k_exit_ok;
}

}  // namespace

void add_audit_commands(CommandContext& context) {
    auto* audit_cmd = context.app.add_subcommand("audit", "Check or list the audit log");
    audit_cmd->require_subcommand(1);

    auto verify = std::make_shared<AuditOptions>();
    auto* verify_cmd = audit_cmd->add_subcommand(
        "verify",
        "Check the hash chain; name the first record altered, removed, inserted or "
        "reordered (exit 1)");
    verify_cmd->add_option("--log", verify->log, "The log (default: the policy's audit.path)");
    context.on_chosen(verify_cmd, verify, run_audit_verify);

    auto show = std::make_shared<AuditOptions>();
    auto* show_cmd = audit_cmd->add_subcommand("show", "List the audit records (--json for JSON)");
    show_cmd->add_option("--log", show->log, "The log (default: the policy's audit.path)");
    show_cmd->add_option("--since", show->since,
                         "Only records from this UTC time on (2024-05-01[T09:30[:15]]) or this "
                         "long ago (90s, 15m, 2h, 7d)");
    context.on_chosen(show_cmd, show, run_audit_show);
}

}  // namespace keyfence::cli
