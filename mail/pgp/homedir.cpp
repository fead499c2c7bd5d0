#include "mail/pgp/homedir.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "mail/pgp/gnupg_tool.hpp"

namespace keyfence::mail::pgp {
namespace fs = std::filesystem;
using base::ErrorCode;

namespace {
constexpr const char* k_bindings_file = "keyfence-bindings";
constexpr const char* k_gnupg_pkcs11_scd = "/usr/bin/gnupg-pkcs11-scd";
constexpr const char* k_pcsclite = "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1";

// SHA-256 signatures (micalg pgp-sha256) and certifications; no key fetched from the network
// behind the user's back while verifying.
constexpr const char* k_gpg_conf =
    "# Written by 'keyfence pgp setup'; Keyfence rewrites this file.\n"
    "personal-digest-preferences SHA256 SHA384 SHA512\n"
    "cert-digest-algo SHA256\n"
    "no-auto-key-retrieve\n";

base::Status write_text(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out.flush()) {
            return base::Error(ErrorCode::Io, "could not write " + tmp.string());
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec)
        return base::Error(ErrorCode::Io, "could not write " + path.string() + ": " + ec.message());
    return {};
}

// No PIN or passphrase is kept by the agent (gpg-agent(1): default-cache-ttl, max-cache-ttl,
// ignore-cache-for-signing); Keyfence answers PIN requests itself (loopback).
std::string agent_conf(const HomeSetup& setup) {
    std::string conf =
        "# Written by 'keyfence pgp setup'; Keyfence rewrites this file.\n"
        "allow-loopback-pinentry\n"
        "default-cache-ttl 0\n"
        "max-cache-ttl 0\n"
        "ignore-cache-for-signing\n"
        "no-allow-external-cache\n";
    if (setup.backend == Backend::Pkcs11) {
        conf += std::string("scdaemon-program ") + k_gnupg_pkcs11_scd + "\n";
    }
    return conf;
}

// gnupg-pkcs11-scd 0.10.0 keeps its login forever with 'pin-cache 0'; 1 s is the shortest.
// Keyfence also stops the daemons after every operation (stop_daemons).
std::string pkcs11_scd_conf(const HomeSetup& setup) {
    std::string conf = "# Written by 'keyfence pgp setup'; Keyfence rewrites this file.\n";
    std::string names;
    for (std::size_t i = 0; i < setup.pkcs11_modules.size(); ++i) {
        names += (i ? " p" : "p") + std::to_string(i + 1);
    }
    conf += "providers " + names + "\n";
    for (std::size_t i = 0; i < setup.pkcs11_modules.size(); ++i) {
        conf += "provider-p" + std::to_string(i + 1) + "-library " + setup.pkcs11_modules[i] + "\n";
    }
    conf += "pin-cache 1\n";
    return conf;
}

// scdaemon through pcscd, sharing the reader with Keyfence's own card code.
std::string scdaemon_conf(const HomeSetup& setup) {
    std::string conf =
        "# Written by 'keyfence pgp setup'; Keyfence rewrites this file.\n"
        "disable-ccid\n"
        "pcsc-shared\n";
    conf += std::string("pcsc-driver ") + k_pcsclite + "\n";
    if (!setup.reader_port.empty()) conf += "reader-port " + setup.reader_port + "\n";
    return conf;
}
}  // namespace

std::string default_homedir() {
    const char* data = std::getenv("XDG_DATA_HOME");
    fs::path base;
    if (data != nullptr && *data == '/') {
        base = data;
    } else {
        const char* home = std::getenv("HOME");
        base = fs::path(home != nullptr ? home : "/") / ".local" / "share";
    }
    return (base / "keyfence" / "gnupg").string();
}

std::string resolve_homedir(const std::string& homedir) {
    return homedir.empty() ? default_homedir() : homedir;
}

base::Result<std::string> setup_home(const HomeSetup& setup) {
    if (setup.backend == Backend::Pkcs11 && setup.pkcs11_modules.empty()) {
        return base::Error(ErrorCode::Usage, "no PKCS#11 module for gnupg-pkcs11-scd",
                           "name the module with --module PATH");
    }
    const fs::path home = fs::absolute(resolve_homedir(setup.homedir));
    std::error_code ec;
    fs::create_directories(home, ec);
    if (ec)
        return base::Error(ErrorCode::Io,
                           "could not create " + home.string() + ": " + ec.message());
    fs::permissions(home, fs::perms::owner_all, ec);
    if (ec) return base::Error(ErrorCode::Io, "could not restrict " + home.string());
    KEYFENCE_TRY(write_text(home / "gpg-agent.conf", agent_conf(setup)));
    KEYFENCE_TRY(write_text(home / "gpg.conf", k_gpg_conf));
    if (setup.backend == Backend::Pkcs11) {
        KEYFENCE_TRY(write_text(home / "gnupg-pkcs11-scd.conf", pkcs11_scd_conf(setup)));
    } else {
        KEYFENCE_TRY(write_text(home / "scdaemon.conf", scdaemon_conf(setup)));
    }
    return home.string();
}

namespace {
bool same_path(const std::string& a, const std::string& b) {
    std::error_code ec1, ec2;
    const fs::path pa = fs::weakly_canonical(a, ec1);
    const fs::path pb = fs::weakly_canonical(b, ec2);
    return ec1 || ec2 ? a == b : pa == pb;
}

// The GnuPG daemons running for `homedir`: gpg-agent, scdaemon and gnupg-pkcs11-scd processes
// of this user whose command line names it after --homedir (as gpg starts them).
std::vector<pid_t> daemons_of(const std::string& homedir) {
    std::vector<pid_t> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        std::vector<std::string> args;
        for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
        if (args.empty()) continue;
        const std::string program = fs::path(args[0]).filename().string();
        if (program != "gpg-agent" && program != "scdaemon" && program != "gnupg-pkcs11-scd") {
            continue;
        }
        for (std::size_t i = 0; i + 1 < args.size(); ++i) {
            if (args[i] == "--homedir" && same_path(args[i + 1], homedir)) {
                found.push_back(static_cast<pid_t>(std::stol(name)));
                break;
            }
        }
    }
    return found;
}

// Running: not gone and not a zombie (one left for an init that does not reap is gone too).
bool running(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return false;
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// Sends `signal` to each of `pids` still there and waits up to `wait` for all to be gone.
bool end_processes(const std::vector<pid_t>& pids, int signal, std::chrono::milliseconds wait) {
    for (const pid_t pid : pids) ::kill(pid, signal);
    const auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
        const bool any =
            std::any_of(pids.begin(), pids.end(), [](pid_t pid) { return running(pid); });
        if (!any) return true;
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}
}  // namespace

base::Status stop_daemons(const std::string& homedir, std::chrono::seconds gpgconf_bound) {
    // gpgconf asks the agent to stop its smartcard daemon first. An agent whose
    // gnupg-pkcs11-scd has gone away can leave that request unanswered for ever (seen on a
    // loaded machine: `pgp sign` waited on gpg-connect-agent's "scd killscd"), so gpgconf gets
    // `gpgconf_bound` (ten seconds by default), and whatever still runs for this home is then
    // terminated: no daemon may outlive the operation holding a logged-in token.
    (void)run_tool({"timeout", std::to_string(gpgconf_bound.count()), "gpgconf", "--homedir",
                    homedir, "--kill", "all"},
                   true);
    const std::vector<pid_t> left = daemons_of(homedir);
    if (left.empty()) return {};
    if (end_processes(left, SIGTERM, std::chrono::seconds(2)) ||
        end_processes(left, SIGKILL, std::chrono::seconds(2))) {
        return {};
    }
    return base::Error(ErrorCode::Io, "GnuPG's daemons for " + homedir + " could not be stopped",
                       "end them with 'gpgconf --homedir " + homedir + " --kill all'");
}

base::Status set_pkcs11_pin_cache(const std::string& homedir, std::int64_t seconds) {
    const fs::path file = fs::path(homedir) / "gnupg-pkcs11-scd.conf";
    std::ifstream in(file);
    if (!in) return {};
    std::string text;
    bool changed = false;
    const std::string wanted = "pin-cache " + std::to_string(std::max<std::int64_t>(seconds, 1));
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("pin-cache ", 0) == 0 && line != wanted) {
            line = wanted;
            changed = true;
        }
        text += line + "\n";
    }
    return changed ? write_text(file, text) : base::Status{};
}

base::Status record_binding(const std::string& homedir, const std::string& keygrip,
                            const std::string& uri) {
    const fs::path file = fs::path(homedir) / k_bindings_file;
    std::string kept;
    {
        std::ifstream in(file);
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind(keygrip + " ", 0) != 0) kept += line + "\n";
        }
    }
    return write_text(file, kept + keygrip + " " + uri + "\n");
}

std::optional<std::string> binding_for(const std::string& homedir, const std::string& keygrip) {
    std::ifstream in(fs::path(homedir) / k_bindings_file);
    std::string line;
    while (std::getline(in, line)) {
        if (!keygrip.empty() && line.rfind(keygrip + " ", 0) == 0) {
            return line.substr(keygrip.size() + 1);
        }
    }
    return std::nullopt;
}

}  // namespace keyfence::mail::pgp
