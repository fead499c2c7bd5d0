#pragma once
// One policy setting as Keyfence holds it: a typed value and where it came from (the built-in
// default, a line of the administrator's file, a line of the user's file).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace keyfence::engine::policy {

/// A setting's value: the four TOML shapes a policy uses.
using Value = std::variant<bool, std::int64_t, std::string, std::vector<std::string>>;

/// Where a value (or a lock) was written.
struct Source {
    enum class Kind { Default, Admin, User };
    Kind kind = Kind::Default;
    std::string file;  ///< empty for Default
    int line = 0;
    int column = 0;

    /// "built-in default", "admin /etc/keyfence/policy.toml:4:1", "user ...:2:1".
    std::string describe() const;
    /// "default", "admin", "user".
    std::string_view kind_name() const;
};

/// The effective value of one setting.
struct Setting {
    std::string name;  ///< "table.key", e.g. "algorithms.min_rsa_bits"
    Value value;
    Source source;
    /// The administrator's lock, when the setting is locked.
    std::optional<Source> locked_by;
    /// A user value that the lock overruled (shown by `policy show`).
    std::optional<Source> overruled_user_value;
};

/// The value as TOML would write it: true, 3072, "pss", ["sha256", "sha384"].
std::string format_value(const Value& value);

}  // namespace keyfence::engine::policy
