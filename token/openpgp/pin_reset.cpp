// scdaemon leaves the card as it is when it exits (SCARD_LEAVE_CARD), and an OpenPGP card keeps
// PW1 for decryption (82) — and PW3 after key generation — verified until it is reset or
// powered down: any process on the machine could then decrypt without a PIN (seen with
// keyfence-vcard, tests/gnupg/pgp_card_test.sh).

#include "token/openpgp/pin_reset.hpp"

#include <vector>

#include "token/pcsc/context.hpp"

namespace keyfence::token::openpgp {
namespace {
base::Status transmit_ok(pcsc::CardConnection& card, std::vector<std::uint8_t> apdu,
                         const char* what) {
    KEYFENCE_TRY_ASSIGN(response, card.transmit(apdu));
    const std::size_t n = response.size();
    if (n < 2 || response[n - 2] != 0x90 || response[n - 1] != 0x00) {
        return base::Error(
            base::ErrorCode::Unsupported,
            std::string("the card refused to ") + what + " (OpenPGP card 3.4 §7.2.2 VERIFY P1=FF)");
    }
    return {};
}
}  // namespace

base::Status forget_card_pins(const std::string& reader) {
    KEYFENCE_TRY_ASSIGN(context, pcsc::Context::establish());
    KEYFENCE_TRY_ASSIGN(card, pcsc::CardConnection::connect(context, reader));
    // SELECT the OpenPGP application (OpenPGP card 3.4 §7.2.1).
    KEYFENCE_TRY(
        transmit_ok(card, {0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00},
                    "select the OpenPGP application"));
    for (std::uint8_t pw : {0x81, 0x82, 0x83}) {
        KEYFENCE_TRY(transmit_ok(card, {0x00, 0x20, 0xFF, pw}, "forget a verified PIN"));
    }
    return {};
}

}  // namespace keyfence::token::openpgp
