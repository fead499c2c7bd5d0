// keyfenced: the per-user Keyfence agent. It owns the token handles and PIN sessions and
// serves keyfence and mail clients over $XDG_RUNTIME_DIR/keyfence/agent.sock (see
// docs/agent-protocol.md and keyfenced(8)). Runs in the foreground; systemd --user starts it
// on the first connection (keyfenced.socket).

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "base/logger.hpp"
#include "base/process_hardening.hpp"
#include "engine/agent/server.hpp"

namespace {
keyfence::engine::agent::Server* g_server = nullptr;

void on_signal(int) {
    if (g_server != nullptr) g_server->stop();
}

int exit_code(const keyfence::base::Error& error) {
    using keyfence::base::ErrorCode;
    switch (error.code) {
        case ErrorCode::Usage:
            return 2;
        case ErrorCode::PolicyDenied:
            return 6;
        case ErrorCode::BadInput:
            return 7;
        default:
            return 8;
    }
}
}  // namespace

int main(int argc, char** argv) {
    using namespace keyfence;
    if (auto hardened = base::harden_process(); !hardened) {
        std::fprintf(stderr, "keyfenced: warning: %s\n", hardened.error().message().c_str());
    }
    CLI::App app{"keyfenced: the Keyfence agent (token handles, PIN sessions, one queue per user)",
                 "keyfenced"};
    engine::agent::ServerOptions options;
    bool verbose = false;
    app.add_option("--module", options.modules, "Also load this PKCS#11 module (repeatable)");
    app.add_flag("--no-p11-kit", options.no_p11_kit, "Load only the modules named with --module");
    app.add_flag("-v,--verbose", verbose, "Log what the agent does to stderr");
    CLI11_PARSE(app, argc, argv);
    if (verbose) base::set_log_level(base::LogLevel::Debug);

    options.inherited_fd = engine::agent::systemd_listen_fd();
    auto server = engine::agent::Server::create(std::move(options));
    if (!server) {
        std::fprintf(stderr, "keyfenced: %s\n", server.error().message().c_str());
        if (!server.error().hint.empty())
            std::fprintf(stderr, "  what to do: %s\n", server.error().hint.c_str());
        return exit_code(server.error());
    }
    g_server = server->get();
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    std::fprintf(stderr, "keyfenced: listening on %s\n", (*server)->socket_path().c_str());
    (*server)->run();
    g_server = nullptr;
    return 0;
}
