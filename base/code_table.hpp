#pragma once
// The shape every origin's code table shares (CKR_*, SCARD_*, ...): an entry per code with a
// name, a description for users and the ErrorCode for what to do next; lookup with a fallback
// entry, and the Error for a failed call.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace keyfence::base {

template <class Value>
struct CodeEntry {
    Value value;
    std::string_view name;
    std::string_view description;
    ErrorCode code;
};

/// The entry for `value`, or `unknown`.
template <class Value, std::size_t N>
const CodeEntry<Value>& find_code(const std::array<CodeEntry<Value>, N>& table, Value value,
                                  const CodeEntry<Value>& unknown) noexcept {
    const auto* it = std::find_if(table.begin(), table.end(),
                                  [value](const CodeEntry<Value>& e) { return e.value == value; });
    return it != table.end() ? *it : unknown;
}

/// "<context>: <description>" with the origin, the raw value and its name; a value not in the
/// table is named "<prefix> 0x<hex>".
template <class Value>
Error code_error(const CodeEntry<Value>& entry, bool known, Origin origin, std::uint64_t raw,
                 std::string_view prefix, std::string_view context) {
    Error error(entry.code, std::string(context) + ": " + std::string(entry.description));
    std::string name(entry.name);
    if (!known) {
        char buf[48];
        std::snprintf(buf, sizeof buf, "%.*s 0x%llx", static_cast<int>(prefix.size()),
                      prefix.data(), static_cast<unsigned long long>(raw));
        name = buf;
    }
    error.from(origin, raw, name);
    return error;
}

}  // namespace keyfence::base
