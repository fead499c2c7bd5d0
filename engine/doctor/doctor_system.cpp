// doctor: the system around the tokens — pcscd, readers and who holds them, GnuPG's scdaemon,
// udev and polkit rules, versions of OpenSC and GnuPG.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "engine/doctor/doctor.hpp"
#include "token/openpgp/card_directory.hpp"
#include "token/pcsc/context.hpp"

namespace keyfence::engine::doctor {
namespace fs = std::filesystem;

namespace {
std::string first_line_of(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    if (!pipe) return {};
    char buf[256] = {};
    if (std::fgets(buf, sizeof buf, pipe.get()) == nullptr) return {};
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return line;
}

// Processes that commonly hold a reader exclusively (for the "held by" hint).
std::vector<std::string> smartcard_processes() {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string pid = entry.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream comm(entry.path() / "comm");
        std::string name;
        std::getline(comm, name);
        if (name == "scdaemon" || name == "gnupg-pkcs11-scd" || name == "pcscd" ||
            name == "ykman" || name == "opensc-tool") {
            found.push_back(name + " (pid " + pid + ")");
        }
    }
    return found;
}

bool file_has_option(const fs::path& file, const std::string& option) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        const auto start = line.find_first_not_of(" \t");
        if (start != std::string::npos && line.compare(start, option.size(), option) == 0)
            return true;
    }
    return false;
}
}  // namespace

Environment Environment::system() {
    Environment env;
    const char* gnupg = std::getenv("GNUPGHOME");
    const char* home = std::getenv("HOME");
    env.gnupg_home =
        gnupg != nullptr ? gnupg : (home != nullptr ? std::string(home) + "/.gnupg" : "");
    env.udev_rule_dirs = {"/etc/udev/rules.d", "/usr/lib/udev/rules.d", "/lib/udev/rules.d"};
    env.polkit_rule_dirs = {"/etc/polkit-1/rules.d", "/usr/share/polkit-1/rules.d"};
    return env;
}

void check_pcsc(std::vector<Finding>& out) {
    auto context = token::pcsc::Context::establish();
    if (!context) {
        out.push_back({"pcscd", Severity::Problem,
                       "pcscd cannot be reached: " + context.error().message(),
                       "install and start pcscd: 'sudo apt install pcscd' then 'sudo systemctl "
                       "enable --now pcscd.socket'; PKCS#11 tokens that do not use smartcard "
                       "readers still work"});
        return;
    }
    out.push_back({"pcscd", Severity::Ok, "pcscd is running", ""});
    auto states = token::pcsc::reader_states(*context);
    if (!states || states->empty()) {
        out.push_back({"readers", Severity::Warning, "no smartcard reader is connected",
                       "plug in the token or reader; if it is plugged in, check the udev rules "
                       "(see the udev finding) and 'lsusb'"});
        return;
    }
    const token::openpgp::CardListing cards = token::openpgp::list_cards();
    for (const auto& reader : *states) {
        std::string line = "reader \"" + reader.reader +
                           "\": " + (reader.card_present ? "card present" : "no card");
        if (reader.in_use_exclusively) {
            std::string holders;
            for (const auto& p : smartcard_processes()) {
                if (p.rfind("pcscd", 0) != 0) holders += (holders.empty() ? "" : ", ") + p;
            }
            out.push_back({"readers", Severity::Problem,
                           line + ", held exclusively by another process" +
                               (holders.empty() ? std::string() : " (running: " + holders + ")"),
                           "GnuPG's scdaemon takes readers exclusively unless told not to: add "
                           "'pcsc-shared' to scdaemon.conf and run 'gpgconf --kill scdaemon'"});
            continue;
        }
        for (const auto& card : cards.cards) {
            if (card.reader == reader.reader && card.card) {
                line += ", OpenPGP card " + card.card->serial_text() +
                        " (openpgp:" + card.card->serial_text() + ")";
            }
        }
        out.push_back({"readers", Severity::Ok, line, ""});
    }
}

void check_gnupg(const Environment& env, std::vector<Finding>& out) {
    if (env.gnupg_home.empty()) return;
    const fs::path conf = fs::path(env.gnupg_home) / "scdaemon.conf";
    if (!fs::exists(conf)) {
        out.push_back({"gnupg", Severity::Info,
                       "no " + conf.string() +
                           ": GnuPG's scdaemon, when it runs, takes card "
                           "readers exclusively and hides them from Keyfence and OpenSC",
                       "if you use GnuPG with a card, put 'pcsc-shared' (and 'disable-ccid') in " +
                           conf.string()});
        return;
    }
    if (!file_has_option(conf, "pcsc-shared")) {
        out.push_back({"gnupg", Severity::Warning,
                       conf.string() + " lacks 'pcsc-shared': scdaemon will hold the reader "
                                       "exclusively while it runs",
                       "add a line 'pcsc-shared' to " + conf.string() +
                           " and run 'gpgconf --kill scdaemon'"});
    } else {
        out.push_back(
            {"gnupg", Severity::Ok, conf.string() + " shares the readers (pcsc-shared)", ""});
    }
    if (!file_has_option(conf, "disable-ccid")) {
        out.push_back({"gnupg", Severity::Info,
                       conf.string() + " lacks 'disable-ccid': scdaemon may use its own USB "
                                       "driver and bypass pcscd",
                       "add 'disable-ccid' to " + conf.string()});
    }
}

void check_rules(const Environment& env, std::vector<Finding>& out) {
    auto find = [](const std::vector<std::string>& dirs, const std::string& name) {
        for (const auto& d : dirs) {
            if (fs::exists(fs::path(d) / name)) return (fs::path(d) / name).string();
        }
        return std::string();
    };
    const std::string udev = find(env.udev_rule_dirs, "70-keyfence.rules");
    const std::string group = find(env.udev_rule_dirs, "70-keyfence-group.rules");
    if (udev.empty() && group.empty()) {
        out.push_back(
            {"udev", Severity::Warning,
             "Keyfence's udev rules are not installed: tokens with a FIDO/OTP "
             "interface or a USB reader may not be accessible to your user",
             "install udev/70-keyfence.rules to /etc/udev/rules.d and run 'sudo "
             "udevadm control --reload && sudo udevadm trigger' (docs/udev-and-polkit.md)"});
    } else {
        out.push_back(
            {"udev", Severity::Ok, "udev rules installed: " + (udev.empty() ? group : udev), ""});
    }
    const std::string polkit = find(env.polkit_rule_dirs, "50-keyfence-pcscd.rules");
    out.push_back(
        {"polkit", polkit.empty() ? Severity::Info : Severity::Ok,
         polkit.empty() ? "Keyfence's polkit rule for pcscd is not installed (Debian 12's "
                          "pcscd is built without polkit, so it is only needed "
                          "where pcscd asks polkit)"
                        : "polkit rule installed: " + polkit,
         polkit.empty() ? "where pcscd uses polkit, install udev/polkit/50-keyfence-pcscd.rules "
                          "to /etc/polkit-1/rules.d"
                        : ""});
}

void check_versions(std::vector<Finding>& out) {
    const std::string opensc = first_line_of("opensc-tool --info 2>/dev/null");
    out.push_back({"versions", opensc.empty() ? Severity::Info : Severity::Ok,
                   opensc.empty() ? "OpenSC is not installed (needed for PIV/CAC cards)" : opensc,
                   opensc.empty() ? "sudo apt install opensc opensc-pkcs11" : ""});
    const std::string gpg = first_line_of("gpg --version 2>/dev/null");
    out.push_back({"versions", gpg.empty() ? Severity::Info : Severity::Ok,
                   gpg.empty() ? "GnuPG is not installed (needed for PGP/MIME)" : gpg,
                   gpg.empty() ? "sudo apt install gnupg scdaemon" : ""});
}

}  // namespace keyfence::engine::doctor
