#pragma once
// Making an OpenPGP card forget its verified PINs, for the card another program (GnuPG's
// scdaemon) left verified.

#include <string>

#include "base/result.hpp"

namespace keyfence::token::openpgp {

/// Resets the access status of PW1 (81, 82) and PW3 (83) of the OpenPGP card in `reader`
/// (OpenPGP card 3.4 §7.2.2: VERIFY with P1 = FF), on a shared connection of its own.
/// Errors: those of PC/SC, Unsupported when the card refuses (cards before version 3).
base::Status forget_card_pins(const std::string& reader);

}  // namespace keyfence::token::openpgp
