#pragma once
// The policy's schema: every key a policy file may hold, its type, its built-in default, the
// values it accepts, and what it means. The loader, the merge, `policy show` and docs/policy.md
// all follow this one table.

#include <cstdint>
#include <span>
#include <string_view>

#include "engine/policy/policy.hpp"
#include "engine/policy/setting.hpp"

namespace keyfence::engine::policy {

enum class ValueKind { Bool, Integer, String, StringList };
std::string_view kind_name(ValueKind kind);  ///< "boolean", "integer", "string", "array of strings"

struct KeySpec {
    std::string_view table = {};  ///< "tokens"
    std::string_view key = {};    ///< "require_hardware"
    ValueKind kind = ValueKind::Bool;
    Value (*default_value)() = nullptr;
    /// Accepted strings (for String, and each element of StringList); empty: any non-empty one.
    std::span<const std::string_view> choices = {};
    std::int64_t min = 0;  ///< Integer bounds, inclusive
    std::int64_t max = 0;
    bool is_path = false;  ///< a String that must be empty, absolute, or start with "~/"
    /// Stores a (validated) value into the typed view.
    void (*apply)(Policy& policy, const Value& value) = nullptr;
    std::string_view meaning = {};

    std::string name() const;  ///< "tokens.require_hardware"
};

/// Every key, in the order `policy show` and the docs list them.
std::span<const KeySpec> schema();
/// The spec of "table.key", or nullptr.
const KeySpec* find_spec(std::string_view table, std::string_view key);
/// Whether `table` is one of the policy's tables.
bool is_table(std::string_view table);

/// Checks a value of the right kind against the spec's choices and bounds; returns the
/// problem in words, or an empty string. For lists, `element` is the offending index.
struct ValueProblem {
    std::string message;
    int element = -1;
};
ValueProblem check_value(const KeySpec& spec, const Value& value);

}  // namespace keyfence::engine::policy
