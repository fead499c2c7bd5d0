// keyfence watch: reader and card events as they happen, one line each (or JSON lines).

#include <csignal>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/hex.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "token/pcsc/monitor.hpp"

namespace keyfence::cli {
namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

std::string now_iso() {
    char buf[32];
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void print(const token::pcsc::ReaderEvent& e, bool json) {
    if (json) {
        nlohmann::json j = {
            {"time", now_iso()}, {"event", token::pcsc::event_name(e.kind)}, {"reader", e.reader}};
        if (!e.atr.empty()) j["atr"] = base::to_hex(e.atr);
        std::cout << j.dump() << std::endl;
        return;
    }
    std::cout << now_iso() << " " << token::pcsc::event_name(e.kind) << " \"" << e.reader << "\"";
    if (!e.atr.empty()) std::cout << " atr " << base::to_hex(e.atr, ":");
    std::cout << std::endl;
}

struct WatchOptions {
    int seconds = 0;  // 0: until interrupted
};

int run_watch(const GlobalOptions& globals, const WatchOptions& options) {
    auto monitor = token::pcsc::ReaderMonitor::start();
    if (!monitor) {
        report_error(monitor.error());
        return exit_code_for(monitor.error());
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    for (const auto& e : monitor->initial()) print(e, globals.json);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.seconds);
    while (!g_stop && (options.seconds == 0 || std::chrono::steady_clock::now() < deadline)) {
        auto events = monitor->wait(std::chrono::milliseconds(250));
        if (!events) {
            report_error(events.error());
            return exit_code_for(events.error());
        }
        for (const auto& e : *events) print(e, globals.json);
    }
    return k_exit_ok;
}
}  // namespace

void add_watch_command(CommandContext& context) {
    auto options = std::make_shared<WatchOptions>();
    auto* cmd = context.app.add_subcommand(
        "watch", "Print reader and card events as they happen (one line each; --json: JSON lines)");
    cmd->add_option("--seconds", options->seconds, "Stop after this many seconds (default: never)")
        ->check(CLI::NonNegativeNumber);
    context.on_chosen(cmd, options, run_watch);
}

}  // namespace keyfence::cli
