// libFuzzer target over the policy loader: any bytes, as the administrator's or the user's file,
// must give either a policy or diagnostics with a position — never a crash, a leak, an
// exception or undefined behaviour. Built with clang++ -fsanitize=fuzzer,address,undefined
// (tests/fuzz/CMakeLists.txt); ./scripts/fuzz and ./scripts/test run it over its seeds.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/policy/effective_policy.hpp"
#include "engine/policy/policy_file.hpp"

using namespace keyfence::engine::policy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const ParseOutcome admin = parse_policy_text(text, "policy.toml", FileRole::Admin);
    const ParseOutcome user = parse_policy_text(text, "config.toml", FileRole::User);
    for (const Diagnostic& d : admin.errors) {
        if (d.line < 0 || d.message.empty()) std::abort();
    }
    if (admin.errors.empty()) {
        // A valid file merges into a policy whose every setting has a value and a source.
        const EffectivePolicy p =
            EffectivePolicy::merge(&admin.file, user.errors.empty() ? &user.file : nullptr);
        for (const Setting& s : p.settings()) {
            if (s.name.empty()) std::abort();
            (void)format_value(s.value);
        }
    }
    return 0;
}
