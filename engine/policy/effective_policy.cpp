#include "engine/policy/effective_policy.hpp"

#include <cstdlib>
#include <stdexcept>

#include "engine/policy/schema.hpp"

namespace keyfence::engine::policy {

namespace {
std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

// The administrator's lock covering `name`, if any: "*", the table, or the setting itself.
const Source* lock_for(const PolicyFile* admin, const KeySpec& spec) {
    if (admin == nullptr) return nullptr;
    for (const auto& [target, source] : admin->locks) {
        if (target == "*" || target == spec.table || target == spec.name()) return &source;
    }
    return nullptr;
}

const std::pair<Value, Source>* value_in(const PolicyFile* file, const std::string& name) {
    if (file == nullptr) return nullptr;
    const auto it = file->values.find(name);
    return it == file->values.end() ? nullptr : &it->second;
}
}  // namespace

std::string user_policy_path() {
    std::string config = env_or_empty("XDG_CONFIG_HOME");
    // The XDG base directory spec: a relative path is invalid and must be ignored.
    if (config.empty() || config.front() != '/') {
        const std::string home = env_or_empty("HOME");
        if (home.empty()) return {};
        config = home + "/.config";
    }
    return config + "/keyfence/config.toml";
}

PolicyPaths default_policy_paths() {
    return {admin_policy_path(), user_policy_path()};
}

EffectivePolicy EffectivePolicy::defaults() {
    return merge(nullptr, nullptr);
}

EffectivePolicy EffectivePolicy::merge(const PolicyFile* admin, const PolicyFile* user) {
    EffectivePolicy p;
    for (const KeySpec& spec : schema()) {
        Setting s{spec.name(), spec.default_value(), Source{}, std::nullopt, std::nullopt};
        if (const auto* v = value_in(admin, s.name)) std::tie(s.value, s.source) = *v;
        if (const Source* lock = lock_for(admin, spec)) s.locked_by = *lock;
        if (const auto* v = value_in(user, s.name)) {
            if (s.locked_by) {
                s.overruled_user_value = v->second;
                p.m_warnings.push_back(v->second.describe() + ": '" + s.name +
                                       "' is locked by the administrator (" +
                                       s.locked_by->describe() + "); your value " +
                                       format_value(v->first) + " is ignored");
            } else {
                std::tie(s.value, s.source) = *v;
            }
        }
        spec.apply(p.m_values, s.value);
        p.m_settings.push_back(std::move(s));
    }
    return p;
}

base::Result<EffectivePolicy> EffectivePolicy::load(const PolicyPaths& paths) {
    KEYFENCE_TRY_ASSIGN(admin, load_policy_file(paths.admin, FileRole::Admin));
    LoadedFile user;
    if (!paths.user.empty()) {
        KEYFENCE_TRY_ASSIGN(loaded, load_policy_file(paths.user, FileRole::User));
        user = std::move(loaded);
    }
    EffectivePolicy p =
        merge(admin.present ? &admin.file : nullptr, user.present ? &user.file : nullptr);
    p.m_paths = paths;
    p.m_admin_present = admin.present;
    p.m_user_present = user.present;
    return p;
}

const Setting& EffectivePolicy::setting(std::string_view name) const {
    for (const Setting& s : m_settings) {
        if (s.name == name) return s;
    }
    throw std::logic_error("no policy setting " + std::string(name));  // a bug: names are fixed
}

}  // namespace keyfence::engine::policy
