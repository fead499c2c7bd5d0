#pragma once
// The GnuPG home Keyfence manages: gpg-agent with loopback PIN entry and no PIN caching, and
// the smartcard daemon for the token (GnuPG's scdaemon over pcscd for OpenPGP cards, or
// gnupg-pkcs11-scd for PKCS#11 tokens). Keyfence never writes into ~/.gnupg by itself.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace keyfence::mail::pgp {

enum class Backend { Card, Pkcs11 };

struct HomeSetup {
    std::string homedir;  ///< empty: default_homedir()
    Backend backend = Backend::Card;
    std::vector<std::string> pkcs11_modules;  ///< Pkcs11: the modules gnupg-pkcs11-scd loads
    std::string reader_port;                  ///< Card: the PC/SC reader (empty: the first)
};

/// ${XDG_DATA_HOME:-~/.local/share}/keyfence/gnupg.
std::string default_homedir();

/// `homedir`, or default_homedir() when empty.
std::string resolve_homedir(const std::string& homedir);

/// Creates the home (mode 0700) and writes gpg-agent.conf, and scdaemon.conf or
/// gnupg-pkcs11-scd.conf, replacing Keyfence's earlier files. Returns the home's path.
/// Errors: Io, Usage (Pkcs11 without a module).
base::Result<std::string> setup_home(const HomeSetup& setup);

/// Stops the gpg-agent and smartcard daemon of `homedir` (gpgconf --kill all), so that no
/// unlocked state survives an operation: gnupg-pkcs11-scd keeps its PKCS#11 login, and
/// scdaemon the card's verified PIN, until they exit (../shared/TESTSTACK.md §3).
/// gpgconf gets `gpgconf_bound` (then what still runs for the home is terminated): the agent,
/// ending a PIN session on its worker, passes a short one. Errors: Io when gpgconf cannot be
/// run.
base::Status stop_daemons(const std::string& homedir,
                          std::chrono::seconds gpgconf_bound = std::chrono::seconds(10));

/// Sets how long gnupg-pkcs11-scd keeps its PKCS#11 login (its 'pin-cache', read when it
/// starts): 1 s for per-operation work, the PIN session's TTL when the agent holds a session.
/// Nothing for a home without gnupg-pkcs11-scd.conf. Errors: Io.
base::Status set_pkcs11_pin_cache(const std::string& homedir, std::int64_t seconds);

/// Remembers that the OpenPGP key with `keygrip` lives on the PKCS#11 key `uri` (pgp bind).
base::Status record_binding(const std::string& homedir, const std::string& keygrip,
                            const std::string& uri);
/// The PKCS#11 URI recorded for `keygrip`, if any.
std::optional<std::string> binding_for(const std::string& homedir, const std::string& keygrip);

}  // namespace keyfence::mail::pgp
