#pragma once
// Finding modules, tokens and keys: the PKCS#11 modules registered with p11-kit plus any named
// with --module; every token in them; the one key a URI selects.

#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "token/pkcs11/module.hpp"
#include "token/pkcs11/objects.hpp"
#include "token/pkcs11/token_info.hpp"
#include "token/pkcs11/uri.hpp"

namespace keyfence::token::pkcs11 {

struct ModuleFailure {
    std::string path;
    base::Error error;
};

/// The modules of one run. A module that fails to load is reported in `failures` and skipped.
struct ModuleSet {
    std::vector<std::shared_ptr<Module>> modules;
    std::vector<ModuleFailure> failures;
};

/// Paths of the modules registered with p11-kit (pkcs11.conf(5)), without trust-policy modules
/// (they hold only the system's CA certificates).
std::vector<std::string> registered_module_paths();

/// Loads `explicit_paths` and, when `include_registered`, the registered modules; a file named
/// twice is loaded once.
ModuleSet load_modules(const std::vector<std::string>& explicit_paths, bool include_registered);

struct TokenEntry {
    std::shared_ptr<Module> module;
    TokenInfo info;
};

/// Every slot of every module, with its token when present. Slot read failures go to
/// `failures` so one broken reader does not hide the others.
std::vector<TokenEntry> list_tokens(const ModuleSet& modules, std::vector<ModuleFailure>& failures);

struct KeyMatch {
    std::shared_ptr<Module> module;
    TokenInfo token;
    ObjectInfo key;
};

/// The one key pair `uri` selects. Errors: KeyNotFound (no match; the message lists the keys
/// there are), Ambiguous (several; lists them), TokenAbsent (no token matches).
base::Result<KeyMatch> select_key(const ModuleSet& modules, const Uri& uri);

/// Keys of tokens matching `uri` (all tokens when `uri` is null).
base::Result<std::vector<KeyMatch>> list_keys(const ModuleSet& modules, const Uri* uri,
                                              std::vector<ModuleFailure>& failures);

}  // namespace keyfence::token::pkcs11
