#pragma once
// The effective policy: the built-in defaults, refined by the administrator's file, refined by
// the user's file except where the administrator locked a setting. Each value remembers where
// it came from.

#include <string>
#include <vector>

#include "base/result.hpp"
#include "engine/policy/policy.hpp"
#include "engine/policy/policy_file.hpp"
#include "engine/policy/setting.hpp"

namespace keyfence::engine::policy {

struct PolicyPaths {
    std::string admin;  ///< the administrator's file
    std::string user;   ///< the user's file (may be empty: none)
};

/// The administrator's policy path compiled into this program: the CMake cache variable
/// KEYFENCE_ADMIN_POLICY (default /etc/keyfence/policy.toml). No environment variable or
/// option changes it in the keyfence binary; the test binaries link a different definition
/// (tests/support/admin_policy_path_for_tests.cpp). Thread-safe.
std::string admin_policy_path();

/// ${XDG_CONFIG_HOME:-~/.config}/keyfence/config.toml (empty when neither is set).
std::string user_policy_path();

/// admin_policy_path() and user_policy_path().
PolicyPaths default_policy_paths();

class EffectivePolicy {
  public:
    /// The built-in defaults alone.
    static EffectivePolicy defaults();
    /// Loads both files (each may be missing). Errors: BadInput with every problem of a file
    /// (file:line:column), Io for a file that exists but cannot be read.
    static base::Result<EffectivePolicy> load(const PolicyPaths& paths);
    /// Merges already parsed files (either may be null).
    static EffectivePolicy merge(const PolicyFile* admin, const PolicyFile* user);

    const Policy& values() const noexcept { return m_values; }
    /// Every setting in schema order, with its source and lock.
    const std::vector<Setting>& settings() const noexcept { return m_settings; }
    /// The setting "table.key" (which must exist in the schema).
    const Setting& setting(std::string_view name) const;
    /// User values that an administrator's lock overruled, in words.
    const std::vector<std::string>& warnings() const noexcept { return m_warnings; }

    const PolicyPaths& paths() const noexcept { return m_paths; }
    bool admin_present() const noexcept { return m_admin_present; }
    bool user_present() const noexcept { return m_user_present; }

  private:
    Policy m_values;
    std::vector<Setting> m_settings;
    std::vector<std::string> m_warnings;
    PolicyPaths m_paths;
    bool m_admin_present = false;
    bool m_user_present = false;
};

}  // namespace keyfence::engine::policy
