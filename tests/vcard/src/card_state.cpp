#include "card_state.hpp"

namespace keyfence::vcard {

CardState CardState::factory(std::uint32_t serial_number, std::uint16_t manufacturer_id) {
    CardState s;
    s.manufacturer = manufacturer_id;
    s.serial = serial_number;
    s.pw1 = {{'1', '2', '3', '4', '5', '6'}, k_pw1_max_tries};
    s.reset_code = {{}, 0};
    s.pw3 = {{'1', '2', '3', '4', '5', '6', '7', '8'}, k_pw3_max_tries};
    return s;
}

Bytes CardState::aid() const {
    Bytes out(k_openpgp_rid.begin(), k_openpgp_rid.end());
    append(out, Bytes{0x03, 0x04});  // version 3.4
    append(out, be_bytes(manufacturer, 2));
    append(out, be_bytes(serial, 4));
    append(out, Bytes{0x00, 0x00});
    return out;
}

Bytes historical_bytes() {
    // 00: category indicator (compact TLV follows, status at the end)
    // 31 C5: card service data (selection by full/partial DF name, EF.DIR/ATR present)
    // 73 C0 01 C0: card capabilities; 3rd byte b8 command chaining, b7 extended Lc/Le
    // 05 90 00: life cycle status "operational", SW 9000
    return {0x00, 0x31, 0xC5, 0x73, 0xC0, 0x01, 0xC0, 0x05, 0x90, 0x00};
}

Bytes answer_to_reset() {
    // 3B DA 18 FF 81 B1 FE 75 1F 03: T=1 with IFSC 254 and 10 historical bytes.
    Bytes atr{0x3B, 0xDA, 0x18, 0xFF, 0x81, 0xB1, 0xFE, 0x75, 0x1F, 0x03};
    append(atr, historical_bytes());
    std::uint8_t tck = 0;
    for (std::size_t i = 1; i < atr.size(); ++i) tck ^= atr[i];  // ISO 7816-3 §8.2.5
    atr.push_back(tck);
    return atr;
}

}  // namespace keyfence::vcard
