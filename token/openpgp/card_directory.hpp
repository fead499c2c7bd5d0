#pragma once
// OpenPGP cards in PC/SC readers: finding them, and naming one key on one of them with an
// `openpgp:` reference.
//
// Reference syntax (documented in README.md):  openpgp:SERIAL[/SLOT]
//   SERIAL  the card's serial as `keyfence status` and `gpg --card-status` show it: 8 hex digits
//           ("0000ABCD"), or 12 with the manufacturer first ("FFFE0000ABCD")
//   SLOT    sig (default), dec or aut

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "token/openpgp/application_data.hpp"
#include "token/pcsc/context.hpp"
#include "token/pkcs11/token_info.hpp"

namespace keyfence::token::openpgp {

struct CardReference {
    std::optional<std::uint16_t> manufacturer;
    std::uint32_t serial = 0;
    KeySlot slot = KeySlot::Signature;
    std::string text;
};

/// True when `text` starts with "openpgp:".
bool is_card_reference(const std::string& text);
/// Parses an `openpgp:` reference. Errors: Usage.
base::Result<CardReference> parse_card_reference(const std::string& text);

struct CardEntry {
    std::string reader;
    bool reader_held_exclusively = false;  ///< another process holds the reader
    std::optional<ApplicationData> card;   ///< absent: the card is not an OpenPGP card (or busy)
    std::optional<base::Error> error;      ///< why `card` is absent, when a card is present
    std::uint32_t signature_counter = 0;
    std::string cardholder;  ///< the name on the card, when set

    bool matches(const CardReference& ref) const;
};

/// Every reader with a card in it, and what the card is. A reader pcscd cannot be reached
/// through is no error: the list is then empty and `pcsc_error` says why.
struct CardListing {
    std::vector<CardEntry> cards;
    std::vector<std::string> empty_readers;
    std::optional<base::Error> pcsc_error;
};
CardListing list_cards();

/// The card `ref` names in `listing`. Errors: the PC/SC error, why an unreadable card failed
/// (it may be the one), or TokenAbsent.
base::Result<const CardEntry*> find_card(const CardListing& listing, const CardReference& ref);

/// True when the PKCS#11 token is a view of `card` through OpenSC's openpgp driver (OpenSC
/// 0.23 reports manufacturer "OpenPGP project" and the card's serial in lower-case hex).
bool same_card(const ApplicationData& card, const pkcs11::TokenInfo& token);
/// The card among `cards` that `token` is a view of, or null.
const CardEntry* card_for_token(const CardListing& cards, const pkcs11::TokenInfo& token);

}  // namespace keyfence::token::openpgp
