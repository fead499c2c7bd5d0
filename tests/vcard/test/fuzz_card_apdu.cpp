// libFuzzer target: feeds a sequence of command APDUs into one card with keys in all slots.
// Input: [flags] then repeated (2-byte big-endian length, APDU bytes). Flag bit 0 verifies
// PW1 (81, 82) and PW3 first so the fuzzer reaches the key and admin commands.
#include "card.hpp"
#include "card_key.hpp"
#include "state_file.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using keyfence::vcard::AlgorithmAttributes;
using keyfence::vcard::CardState;
using keyfence::vcard::Curve;
using keyfence::vcard::KeySlot;

// Built once: key generation per input would drown the fuzzer. Cheap curves only.
const std::string& seed_state_text() {
    static const std::string k_text = [] {
        CardState s = CardState::factory(0x0F0F0F0F);
        s.slots[0].attributes = AlgorithmAttributes::ecc(Curve::P256, KeySlot::Signature);
        s.slots[1].attributes = AlgorithmAttributes::ecc(Curve::X25519, KeySlot::Decryption);
        s.slots[2].attributes = AlgorithmAttributes::ecc(Curve::Ed25519, KeySlot::Authentication);
        for (auto& slot : s.slots) {
            slot.key = keyfence::vcard::generate_key(slot.attributes);
            slot.key_status = 1;
        }
        return keyfence::vcard::serialize_state(s);
    }();
    return k_text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = keyfence::vcard::parse_state(seed_state_text());
    if (!parsed.state || size == 0) return 0;
    keyfence::vcard::Card card(std::move(*parsed.state));
    if (data[0] & 1) {
        for (const char* apdu :
             {"0020008106313233343536", "0020008206313233343536", "00200083083132333435363738"}) {
            card.process(*keyfence::vcard::from_hex(apdu));
        }
    }
    std::size_t pos = 1;
    while (pos + 2 <= size) {
        std::size_t len = static_cast<std::size_t>(data[pos] << 8 | data[pos + 1]);
        pos += 2;
        if (len > size - pos) len = size - pos;
        card.process(keyfence::vcard::ByteView(data + pos, len));
        pos += len;
    }
    return 0;
}
