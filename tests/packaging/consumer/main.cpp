// Uses the installed headers and libraries: URI parsing and module loading from token/, hex
// from base/.
#include <cstdio>

#include "base/hex.hpp"
#include "token/pkcs11/registry.hpp"

int main() {
    auto uri = keyfence::token::pkcs11::Uri::parse("pkcs11:token=x;pin-value=1");
    const auto modules = keyfence::token::pkcs11::load_modules({}, true);
    const std::vector<std::uint8_t> bytes = {0xca, 0xfe};
    std::printf("uri refused: %s; modules: %zu; hex: %s\n", uri ? "no" : "yes",
                modules.modules.size(), keyfence::base::to_hex(bytes).c_str());
    return uri ? 1 : 0;
}
