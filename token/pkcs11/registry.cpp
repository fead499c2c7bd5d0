#include "token/pkcs11/registry.hpp"

#include <p11-kit/p11-kit.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "base/logger.hpp"
#include "token/pkcs11/session.hpp"

namespace keyfence::token::pkcs11 {
namespace {

std::string canonical(const std::string& path) {
    std::error_code ec;
    auto p = std::filesystem::canonical(path, ec);
    return ec ? path : p.string();
}

bool wants_token(const Uri* uri, const TokenEntry& entry) {
    if (uri == nullptr) return true;
    CK_INFO info{};
    if (entry.module->functions()->C_GetInfo(&info) != CKR_OK) return false;
    CK_SLOT_INFO slot{};
    if (entry.module->functions()->C_GetSlotInfo(entry.info.slot_id, &slot) != CKR_OK) return false;
    return uri->matches_module(info, entry.module->path()) &&
           uri->matches_slot(slot, entry.info.slot_id) && uri->matches_token(entry.info.raw);
}

std::string describe_candidates(const std::vector<KeyMatch>& keys) {
    std::string text;
    for (const KeyMatch& k : keys) text += "\n  " + k.key.uri;
    return text;
}
}  // namespace

std::vector<std::string> registered_module_paths() {
    std::vector<std::string> paths;
    // Unmanaged: p11-kit only dlopens the modules to tell us their file names; libp11 does the
    // real loading and initialization afterwards.
    CK_FUNCTION_LIST** modules = p11_kit_modules_load(nullptr, P11_KIT_MODULE_UNMANAGED);
    if (modules == nullptr) return paths;
    for (CK_FUNCTION_LIST** m = modules; *m != nullptr; ++m) {
        char* trust = p11_kit_config_option(*m, "trust-policy");
        const bool trust_only = trust != nullptr && std::string(trust) == "yes";
        std::free(trust);
        char* file = p11_kit_module_get_filename(*m);
        if (file != nullptr && !trust_only) paths.emplace_back(file);
        std::free(file);
    }
    p11_kit_modules_release(modules);
    return paths;
}

ModuleSet load_modules(const std::vector<std::string>& explicit_paths, bool include_registered) {
    std::vector<std::string> paths = explicit_paths;
    if (include_registered) {
        for (auto& p : registered_module_paths()) paths.push_back(std::move(p));
    }
    ModuleSet set;
    std::vector<std::string> seen;
    for (const std::string& path : paths) {
        const std::string key = canonical(path);
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
        seen.push_back(key);
        auto module = Module::load(path);
        if (!module) {
            set.failures.push_back({path, std::move(module).error()});
            continue;
        }
        set.modules.push_back(std::move(*module));
    }
    return set;
}

std::vector<TokenEntry> list_tokens(const ModuleSet& modules,
                                    std::vector<ModuleFailure>& failures) {
    std::vector<TokenEntry> tokens;
    for (const auto& module : modules.modules) {
        auto slots = module->slot_ids();
        if (!slots) {
            failures.push_back({module->path(), std::move(slots).error()});
            continue;
        }
        for (CK_SLOT_ID slot : *slots) {
            auto info = read_token_info(*module, slot);
            if (!info) {
                failures.push_back({module->path(), std::move(info).error()});
                continue;
            }
            tokens.push_back({module, std::move(*info)});
        }
    }
    return tokens;
}

base::Result<std::vector<KeyMatch>> list_keys(const ModuleSet& modules, const Uri* uri,
                                              std::vector<ModuleFailure>& failures) {
    std::vector<KeyMatch> keys;
    for (const TokenEntry& entry : list_tokens(modules, failures)) {
        if (!entry.info.present || !entry.info.pin.initialized || !wants_token(uri, entry))
            continue;
        auto session = Session::open(entry.module, entry.info.slot_id);
        if (!session) {
            failures.push_back({entry.module->path(), std::move(session).error()});
            continue;
        }
        auto objects = list_objects(*session, entry.info);
        if (!objects) {
            failures.push_back({entry.module->path(), std::move(objects).error()});
            continue;
        }
        for (ObjectInfo& key : objects->keys)
            keys.push_back({entry.module, entry.info, std::move(key)});
    }
    return keys;
}

base::Result<KeyMatch> select_key(const ModuleSet& modules, const Uri& uri) {
    std::vector<ModuleFailure> failures;
    KEYFENCE_TRY_ASSIGN(all, list_keys(modules, &uri, failures));
    for (const ModuleFailure& f : failures) base::log_warn(f.path, ": ", f.error.message());
    std::vector<KeyMatch> matches;
    for (KeyMatch& k : all) {
        if (uri.matches_object(CKO_PRIVATE_KEY, k.key.id, k.key.label))
            matches.push_back(std::move(k));
    }
    if (matches.size() == 1) return std::move(matches.front());
    if (matches.empty()) {
        if (all.empty()) {
            return base::Error(base::ErrorCode::TokenAbsent,
                               "no token with keys matches " + uri.text(),
                               "plug in the token, or run 'keyfence tokens' to see the tokens "
                               "Keyfence finds");
        }
        return base::Error(base::ErrorCode::KeyNotFound,
                           "no private key matches " + uri.text() +
                               "; the keys there are:" + describe_candidates(all),
                           "pass one of these URIs to --key ('keyfence keys' lists them all)");
    }
    return base::Error(base::ErrorCode::Ambiguous,
                       uri.text() + " matches " + std::to_string(matches.size()) +
                           " keys:" + describe_candidates(matches),
                       "add object= or id= to the URI so that it names one key");
}

}  // namespace keyfence::token::pkcs11
