#include "token/openpgp/card_directory.hpp"

#include <cctype>

#include "base/hex.hpp"
#include "token/openpgp/openpgp_card.hpp"
#include "token/openpgp/pcsc_transport.hpp"

namespace keyfence::token::openpgp {
namespace {
base::Error bad_reference(const std::string& text) {
    return base::Error(base::ErrorCode::Usage, "'" + text + "' is not an OpenPGP card reference",
                       "write openpgp:SERIAL or openpgp:SERIAL/sig|dec|aut, with the serial "
                       "'keyfence status' shows");
}
}  // namespace

bool is_card_reference(const std::string& text) {
    return text.rfind("openpgp:", 0) == 0;
}

base::Result<CardReference> parse_card_reference(const std::string& text) {
    if (!is_card_reference(text)) return bad_reference(text);
    CardReference ref;
    ref.text = text;
    std::string rest = text.substr(8);
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        const std::string slot = rest.substr(slash + 1);
        if (slot == "sig")
            ref.slot = KeySlot::Signature;
        else if (slot == "dec")
            ref.slot = KeySlot::Decryption;
        else if (slot == "aut")
            ref.slot = KeySlot::Authentication;
        else
            return bad_reference(text);
        rest = rest.substr(0, slash);
    }
    if (rest.size() != 8 && rest.size() != 12) return bad_reference(text);
    auto bytes = base::from_hex(rest);
    if (!bytes) return bad_reference(text);
    std::size_t i = 0;
    if (bytes->size() == 6) {
        ref.manufacturer = static_cast<std::uint16_t>((*bytes)[0] << 8 | (*bytes)[1]);
        i = 2;
    }
    for (; i < bytes->size(); ++i) ref.serial = ref.serial << 8 | (*bytes)[i];
    return ref;
}

bool CardEntry::matches(const CardReference& ref) const {
    return card && card->serial == ref.serial &&
           (!ref.manufacturer || *ref.manufacturer == card->manufacturer);
}

base::Result<const CardEntry*> find_card(const CardListing& listing, const CardReference& ref) {
    if (listing.pcsc_error) return *listing.pcsc_error;
    for (const CardEntry& e : listing.cards) {
        if (e.matches(ref)) return &e;
    }
    for (const CardEntry& e : listing.cards) {
        // A card that could not be read may be the one: say why instead of "not found".
        if (e.error && e.error->code != base::ErrorCode::KeyNotFound) {
            base::Error why = *e.error;
            why.context = "no readable OpenPGP card matches " + ref.text + "; the card in " +
                          e.reader + " failed: " + why.context;
            return why;
        }
    }
    return base::Error(base::ErrorCode::TokenAbsent, "no OpenPGP card matches " + ref.text,
                       "insert the card; 'keyfence status' lists the cards Keyfence sees");
}

bool same_card(const ApplicationData& card, const pkcs11::TokenInfo& token) {
    if (!token.present || token.manufacturer != "OpenPGP project") return false;
    std::string serial = card.serial_text();
    for (char& c : serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string theirs = token.serial;
    for (char& c : theirs) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return theirs == serial;
}

const CardEntry* card_for_token(const CardListing& cards, const pkcs11::TokenInfo& token) {
    for (const CardEntry& entry : cards.cards) {
        if (entry.card && same_card(*entry.card, token)) return &entry;
    }
    return nullptr;
}

CardListing list_cards() {
    CardListing listing;
    auto context = pcsc::Context::establish();
    if (!context) {
        listing.pcsc_error = std::move(context).error();
        return listing;
    }
    auto states = pcsc::reader_states(*context);
    if (!states) {
        listing.pcsc_error = std::move(states).error();
        return listing;
    }
    for (const pcsc::ReaderState& state : *states) {
        if (!state.card_present) {
            listing.empty_readers.push_back(state.reader);
            continue;
        }
        CardEntry entry;
        entry.reader = state.reader;
        entry.reader_held_exclusively = state.in_use_exclusively;
        auto connection = pcsc::CardConnection::connect(*context, state.reader);
        if (!connection) {
            entry.error = std::move(connection).error();
            listing.cards.push_back(std::move(entry));
            continue;
        }
        PcscTransport transport(*connection);
        Channel channel(transport);
        auto card = OpenPgpCard::select(channel);
        if (card) {
            if (auto counter = card->read_signature_counter()) entry.signature_counter = *counter;
            if (auto name = card->read_cardholder_name()) entry.cardholder = *name;
            entry.card = card->data();
        } else {
            entry.error = std::move(card).error();
        }
        listing.cards.push_back(std::move(entry));
    }
    return listing;
}

}  // namespace keyfence::token::openpgp
