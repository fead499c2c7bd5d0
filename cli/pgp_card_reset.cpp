// After a PGP/MIME operation on an OpenPGP card: the card forgets its verified PINs
// (token/openpgp/pin_reset.hpp says why).

#include "base/logger.hpp"
#include "cli/pgp_support.hpp"
#include "token/openpgp/pin_reset.hpp"

namespace keyfence::cli {

base::Status forget_card_pins(const std::string& reader) {
    return token::openpgp::forget_card_pins(reader);
}

void forget_card_pins_after(const TokenKey& key) {
    const std::string& module = key.match.token.module_path;
    if (module.rfind("pcsc:", 0) != 0) return;
    if (auto forgot = forget_card_pins(module.substr(5)); !forgot) {
        base::log_warn("the OpenPGP card may still accept operations without a PIN: ",
                       forgot.error().message(), "; remove the card from the reader to reset it");
    }
}

}  // namespace keyfence::cli
