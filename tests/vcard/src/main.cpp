// keyfence-vcard: a software OpenPGP card 3.4 that plugs into pcscd through vpcd.
#include "card.hpp"
#include "options.hpp"
#include "state_file.hpp"
#include "vpcd_link.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop = true;
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: a blocking recv returns EINTR
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

using keyfence::vcard::CardState;
using keyfence::vcard::Options;

std::optional<CardState> initial_state(const Options& o) {
    namespace v = keyfence::vcard;
    struct stat st {};
    bool exists = !o.state_path.empty() && ::stat(o.state_path.c_str(), &st) == 0;
    if (exists && !o.init) {
        auto loaded = v::load_state_file(o.state_path);
        if (!loaded.state) {
            std::cerr << "keyfence-vcard: " << loaded.error << "\n";
            return std::nullopt;
        }
        if (o.serial && *o.serial != loaded.state->serial) loaded.state->serial = *o.serial;
        return std::move(loaded.state);
    }
    std::uint32_t serial = 0;
    if (o.serial) {
        serial = *o.serial;
    } else {
        auto r = v::random_bytes(4);
        serial = static_cast<std::uint32_t>(r[0] << 24 | r[1] << 16 | r[2] << 8 | r[3]);
    }
    CardState s = CardState::factory(serial);
    if (o.key_attributes) {
        for (std::size_t i = 0; i < 3; ++i) s.slots[i].attributes = (*o.key_attributes)[i];
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    namespace v = keyfence::vcard;
    v::ParsedOptions parsed = v::parse_options(argc, argv);
    if (!parsed.options) {
        (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.message;
        return parsed.exit_code;
    }
    const v::Options* options = &*parsed.options;
    std::cerr << "keyfence-vcard: SOFTWARE TEST/DEMO OpenPGP card - NOT A SECURE TOKEN. Keys and "
                 "PINs are stored in clear"
              << (options->state_path.empty() ? " (in memory only)."
                                              : " in " + options->state_path + ".")
              << "\n";
    install_signal_handlers();
    auto state = initial_state(*options);
    if (!state) return 1;
    v::Card card(std::move(*state));
    if (!options->state_path.empty()) {
        std::string path = options->state_path;
        auto save = [path](const CardState& s) {
            if (std::string err = v::save_state_file(path, s); !err.empty()) {
                std::cerr << "keyfence-vcard: cannot save state: " << err << "\n";
            }
        };
        // Create on first run and record --serial; a card that cannot persist is refused.
        if (std::string err = v::save_state_file(path, card.state()); !err.empty()) {
            std::cerr << "keyfence-vcard: cannot write state file: " << err << "\n";
            return 1;
        }
        card.set_state_listener(save);
    }
    char aid_line[64];
    std::snprintf(aid_line, sizeof aid_line, "%04X %08X", card.state().manufacturer,
                  card.state().serial);
    std::cerr << "keyfence-vcard: AID " << v::to_hex(card.state().aid()) << " (manufacturer/serial "
              << aid_line << "), vpcd " << options->host << ":" << options->port << "\n";

    v::LinkOptions link{options->host,         options->port,   options->connect_timeout_ms,
                        options->control_path, options->faults, options->verbose};
    for (;;) {
        int fd = v::connect_to_vpcd(link, g_stop);
        if (fd < 0) {
            if (g_stop) return 0;
            std::cerr << "keyfence-vcard: cannot connect to vpcd at " << options->host << ":"
                      << options->port << "\n";
            return 1;
        }
        card.power_off();
        v::LinkEnd end = v::serve_connection(fd, card, link, g_stop);
        ::close(fd);
        card.power_off();  // removal loses the session, like pulling a real card
        if (g_stop || end == v::LinkEnd::Stopped) return 0;
        if (end == v::LinkEnd::Error) return 1;
        if (!options->reconnect) {
            std::cerr << "keyfence-vcard: "
                      << (end == v::LinkEnd::Removed ? "card removed (fault)"
                                                     : "vpcd closed the connection")
                      << "; exiting\n";
            return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(options->reinsert_ms));
        if (g_stop) return 0;
    }
}
