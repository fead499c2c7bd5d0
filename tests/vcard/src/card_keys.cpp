// Private-key commands: GENERATE ASYMMETRIC KEY PAIR, PSO:CDS, PSO:DECIPHER, INTERNAL
// AUTHENTICATE, key import (PUT DATA odd INS) and GET CHALLENGE (OpenPGP card 3.4 §7.2).
#include "card.hpp"

#include "card_key.hpp"
#include "tlv.hpp"

#include <algorithm>

#include <openssl/evp.h>

namespace keyfence::vcard {
namespace {

// First TLV of the data field must be a CRT naming the key: B6, B8 or A4 (§7.2.14).
std::optional<KeySlot> crt_slot(ByteView data) {
    std::size_t pos = 0;
    auto tag = read_tag(data, pos);
    if (!tag) return std::nullopt;
    return slot_from_crt(*tag);
}

// §7.2.10: RSA DigestInfo may be at most 40 % of the modulus length.
bool rsa_input_ok(const KeySlotState& k, std::size_t n) {
    return n > 0 && n * 10 <= static_cast<std::size_t>(k.attributes.rsa_bits / 8) * 4;
}

void key_replaced(CardState& s, KeySlot slot, EvpPkeyPtr key, std::uint8_t status) {
    KeySlotState& k = s.slot(slot);
    k.key = std::move(key);
    k.key_status = status;
    k.fingerprint.clear();
    k.generation_time.clear();
    // §4.4.3.11 (93): the signature counter restarts with a new signature key.
    if (slot == KeySlot::Signature) s.signature_counter = 0;
}

}  // namespace

// §7.2.14 GENERATE ASYMMETRIC KEY PAIR. P1=80 generates (PW3), P1=81 reads the public key.
Response Card::generate_key_pair(const CommandApdu& apdu) {
    if ((apdu.p1 != 0x80 && apdu.p1 != 0x81) || apdu.p2 != 0x00) {
        return Response::status(StatusWord::WrongP1P2);
    }
    auto slot = crt_slot(apdu.data);
    if (!slot) return Response::status(StatusWord::IncorrectData);
    if (apdu.p1 == 0x80) {
        if (!m_session.pw3) return Response::status(StatusWord::SecurityStatusNotSatisfied);
        EvpPkeyPtr key = generate_key(m_state.slot(*slot).attributes);
        if (!key) return Response::status(StatusWord::NoPreciseDiagnosis);
        key_replaced(m_state, *slot, std::move(key), 0x01);
        changed();
    }
    const KeySlotState& k = m_state.slot(*slot);
    if (!k.key) return Response::status(StatusWord::ReferencedDataNotFound);
    auto pub = public_key_template(k.key.get(), k.attributes);
    if (!pub) return Response::status(StatusWord::NoPreciseDiagnosis);
    return Response::ok(std::move(*pub));
}

Response Card::sign_with(KeySlot slot, ByteView input) {
    KeySlotState& k = m_state.slot(slot);
    if (!k.key) return Response::status(StatusWord::ReferencedDataNotFound);
    if (k.attributes.is_rsa() && !rsa_input_ok(k, input.size())) {
        return Response::status(StatusWord::WrongLength);
    }
    auto sig = card_sign(k.key.get(), k.attributes, input);
    if (!sig) return Response::status(StatusWord::IncorrectData);
    if (m_corrupt_signature && !sig->empty()) (*sig)[sig->size() / 2] ^= 0x01;  // fault
    return Response::ok(std::move(*sig));
}

Response Card::perform_security_operation(const CommandApdu& apdu) {
    if (apdu.p1 == 0x9E && apdu.p2 == 0x9A) return compute_signature(apdu);
    if (apdu.p1 == 0x80 && apdu.p2 == 0x86) return decipher(apdu);
    return Response::status(StatusWord::IncorrectP1P2);
}

// §7.2.10 PSO: COMPUTE DIGITAL SIGNATURE, needs PW1 (81). With C4 byte 1 = 00 the
// verification is consumed by one signature.
Response Card::compute_signature(const CommandApdu& apdu) {
    if (!m_session.pw1_sign) return Response::status(StatusWord::SecurityStatusNotSatisfied);
    Response r = sign_with(KeySlot::Signature, apdu.data);
    if (r.sw != 0x9000) return r;
    m_state.signature_counter = std::min<std::uint32_t>(
        0xFFFFFF, m_state.signature_counter + m_counter_step);  // m_counter_step: 1 but for faults
    if (!m_state.pw1_valid_for_several_signatures) m_session.pw1_sign = false;
    changed();
    return r;
}

// §7.2.11 PSO: DECIPHER, needs PW1 (82). RSA: 00 || cryptogram. ECDH: A6 { 7F49 { 86 point } }.
Response Card::decipher(const CommandApdu& apdu) {
    if (!m_session.pw1_other) return Response::status(StatusWord::SecurityStatusNotSatisfied);
    KeySlotState& k = m_state.slot(KeySlot::Decryption);
    if (!k.key) return Response::status(StatusWord::ReferencedDataNotFound);
    ByteView data(apdu.data);
    if (data.empty()) return Response::status(StatusWord::WrongLength);
    std::optional<Bytes> plain;
    if (k.attributes.is_rsa()) {
        // Padding indicator 00; AES (02) is not offered in C0.
        if (data[0] != 0x00 || data.size() - 1 != k.attributes.rsa_bits / 8u) {
            return Response::status(StatusWord::IncorrectData);
        }
        plain = rsa_decrypt(k.key.get(), data.subspan(1));
    } else {
        auto a6 = find_tlv(data, 0xA6);
        auto pk = a6 ? find_tlv(a6->value, 0x7F49) : std::nullopt;
        auto point = pk ? find_tlv(pk->value, 0x86) : std::nullopt;
        if (!point) return Response::status(StatusWord::IncorrectData);
        plain = ecdh_shared_secret(k.key.get(), k.attributes, point->value);
    }
    if (!plain) return Response::status(StatusWord::IncorrectData);
    return Response::ok(std::move(*plain));
}

// §7.2.13 INTERNAL AUTHENTICATE with the authentication key, needs PW1 (82).
Response Card::internal_authenticate(const CommandApdu& apdu) {
    if (apdu.p1 != 0x00 || apdu.p2 != 0x00) return Response::status(StatusWord::WrongP1P2);
    if (!m_session.pw1_other) return Response::status(StatusWord::SecurityStatusNotSatisfied);
    return sign_with(KeySlot::Authentication, apdu.data);
}

// §7.2.15 GET CHALLENGE: Le random bytes.
Response Card::get_challenge(const CommandApdu& apdu) {
    if (apdu.p1 != 0x00 || apdu.p2 != 0x00) return Response::status(StatusWord::WrongP1P2);
    if (!apdu.le_present || apdu.le > k_max_challenge)
        return Response::status(StatusWord::WrongLength);
    return Response::ok(random_bytes(apdu.le));
}

// §4.4.3.12 key import: PUT DATA (DB 3F FF) with the extended header list
// 4D { CRT, 7F48 { tag/length list }, 5F48 { concatenated values } }. Needs PW3.
Response Card::import_key(const CommandApdu& apdu) {
    if (apdu.p1p2() != 0x3FFF) return Response::status(StatusWord::WrongP1P2);
    if (!m_session.pw3) return Response::status(StatusWord::SecurityStatusNotSatisfied);
    auto header_list = find_tlv(apdu.data, 0x4D);
    if (!header_list) return Response::status(StatusWord::IncorrectData);
    auto slot = crt_slot(header_list->value);
    auto template_list = find_tlv(header_list->value, 0x7F48);
    auto values = find_tlv(header_list->value, 0x5F48);
    if (!slot || !template_list || !values) return Response::status(StatusWord::IncorrectData);
    std::map<std::uint32_t, Bytes> parts;
    std::size_t pos = 0, offset = 0;
    while (pos < template_list->value.size()) {
        auto tag = read_tag(template_list->value, pos);
        auto len = tag ? read_length(template_list->value, pos) : std::nullopt;
        if (!len || *len > values->value.size() - offset) {
            return Response::status(StatusWord::IncorrectData);
        }
        auto v = values->value.subspan(offset, *len);
        parts[*tag].assign(v.begin(), v.end());
        offset += *len;
    }
    if (offset != values->value.size()) return Response::status(StatusWord::IncorrectData);
    EvpPkeyPtr key = import_private_key(m_state.slot(*slot).attributes, parts);
    for (auto& [tag, value] : parts) cleanse(value);
    if (!key) return Response::status(StatusWord::IncorrectData);
    key_replaced(m_state, *slot, std::move(key), 0x02);
    changed();
    return Response::status(StatusWord::Ok);
}

}  // namespace keyfence::vcard
