// keyfence doctor: every finding with a suggested fix; exit 1 when there is a problem.

#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/json_views.hpp"
#include "engine/doctor/doctor.hpp"

namespace keyfence::cli {
namespace {
namespace doc = engine::doctor;

int run_doctor(const GlobalOptions& globals, int) {
    auto engine = make_engine(globals);
    const auto findings = doc::run_checks(*engine, doc::Environment::system());
    bool problem = false;
    for (const auto& f : findings) problem = problem || f.severity == doc::Severity::Problem;
    if (globals.json) {
        nlohmann::json j = {{"schema", k_json_schema},
                            {"problems", problem},
                            {"findings", nlohmann::json::array()}};
        for (const auto& f : findings) {
            j["findings"].push_back({{"check", f.check},
                                     {"severity", doc::severity_name(f.severity)},
                                     {"summary", f.summary},
                                     {"fix", f.fix}});
        }
        std::cout << j.dump(2) << "\n";
    } else {
        for (const auto& f : findings) {
            std::string tag(doc::severity_name(f.severity));
            for (auto& c : tag) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            std::cout << "[" << tag << "] " << f.check << ": " << f.summary << "\n";
            if (!f.fix.empty()) std::cout << "    fix: " << f.fix << "\n";
        }
        std::cout << (problem ? "\nSome problems need attention (see the fixes above).\n"
                              : "\nNo problems found.\n");
    }
    return problem ? k_exit_not_verified : k_exit_ok;
}
}  // namespace

void add_doctor_command(CommandContext& context) {
    auto* cmd = context.app.add_subcommand(
        "doctor",
        "Explain why a token is not working, with a fix for each finding (exit 1 on a problem)");
    context.on_chosen(cmd, std::make_shared<int>(0), run_doctor);
}

}  // namespace keyfence::cli
