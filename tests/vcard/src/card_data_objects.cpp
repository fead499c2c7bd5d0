// GET DATA / PUT DATA and the data objects of OpenPGP card 3.4 §4.4.
#include "card.hpp"

#include "tlv.hpp"

namespace keyfence::vcard {
namespace {

constexpr std::size_t k_slot_count = 3;

Bytes or_zeros(const Bytes& b, std::size_t size) {
    return b.empty() ? Bytes(size, 0) : b;
}

KeySlot slot_at(std::size_t i) {
    return static_cast<KeySlot>(i);
}

// 7F21 occurrences for SELECT DATA: 0 = AUT, 1 = DEC, 2 = SIG (§7.2.5).
KeySlot certificate_slot(std::size_t occurrence) {
    static constexpr KeySlot k_map[3] = {KeySlot::Authentication, KeySlot::Decryption,
                                         KeySlot::Signature};
    return k_map[occurrence > 2 ? 0 : occurrence];
}

}  // namespace

// §4.4.3.7 Extended Capabilities (10 bytes in 3.x).
Bytes Card::extended_capabilities() const {
    Bytes c0;
    // b7 GET CHALLENGE, b6 key import, b5 PW status changeable, b3 algorithm attributes
    // changeable. No secure messaging, no private DOs, no AES, no KDF-DO.
    c0.push_back(0x40 | 0x20 | 0x10 | 0x04);
    c0.push_back(0x00);  // SM algorithm: none
    append(c0, be_bytes(k_max_challenge, 2));
    append(c0, be_bytes(k_max_certificate, 2));
    append(c0, be_bytes(k_max_special_do, 2));
    c0.push_back(0x00);  // PIN block 2 format not supported
    c0.push_back(0x00);  // MSE for key 2/3 not supported
    return c0;
}

// §4.4.3.10 PW Status Bytes.
Bytes Card::pw_status_bytes() const {
    return {static_cast<std::uint8_t>(m_state.pw1_valid_for_several_signatures ? 0x01 : 0x00),
            static_cast<std::uint8_t>(CardState::k_pw_max_length),
            static_cast<std::uint8_t>(CardState::k_pw_max_length),
            static_cast<std::uint8_t>(CardState::k_pw_max_length),
            m_state.pw1.tries,
            m_state.reset_code.tries,
            m_state.pw3.tries};
}

Bytes Card::discretionary_data_objects() const {
    Bytes d;
    append_tlv(d, 0xC0, extended_capabilities());
    for (std::size_t i = 0; i < k_slot_count; ++i) {
        append_tlv(d, 0xC1 + static_cast<std::uint32_t>(i), m_state.slots[i].attributes.raw);
    }
    append_tlv(d, 0xC4, pw_status_bytes());
    Bytes fprs, ca_fprs, times, key_info;
    for (std::size_t i = 0; i < k_slot_count; ++i) {
        const KeySlotState& k = m_state.slots[i];
        append(fprs, or_zeros(k.fingerprint, 20));
        append(ca_fprs, or_zeros(k.ca_fingerprint, 20));
        append(times, or_zeros(k.generation_time, 4));
        key_info.push_back(static_cast<std::uint8_t>(i + 1));  // §4.4.3.8 key information
        key_info.push_back(k.key ? k.key_status : 0);
    }
    append_tlv(d, 0xC5, fprs);
    append_tlv(d, 0xC6, ca_fprs);
    append_tlv(d, 0xCD, times);
    append_tlv(d, 0xDE, key_info);
    return d;
}

// §4.4.1 Application Related Data 6E.
Bytes Card::application_related_data() const {
    Bytes inner;
    append_tlv(inner, 0x4F, m_state.aid());
    append_tlv(inner, 0x5F52, historical_bytes());
    append(inner, *data_object(0x7F74));
    append(inner, *data_object(0x7F66));
    append_tlv(inner, 0x73, discretionary_data_objects());
    return make_tlv(0x6E, inner);
}

// The body GET DATA returns for `tag`: the plain value for simple DOs, the complete TLV
// for constructed ones (65, 6E, 7A, 7F66, 7F74), as real cards do.
std::optional<Bytes> Card::data_object(std::uint32_t tag) const {
    switch (tag) {
        case 0x004F:
            return m_state.aid();
        case 0x005E:
            return m_state.login;
        case 0x5F50:
            return m_state.url;
        case 0x5F52:
            return historical_bytes();
        case 0x005B:
            return m_state.name;
        case 0x5F2D:
            return m_state.language;
        case 0x5F35:
            return m_state.sex;
        case 0x0065: {
            Bytes inner;
            append_tlv(inner, 0x5B, m_state.name);
            append_tlv(inner, 0x5F2D, m_state.language);
            append_tlv(inner, 0x5F35, m_state.sex);
            return make_tlv(0x65, inner);
        }
        case 0x006E:
            return application_related_data();
        case 0x0073:
            return make_tlv(0x73, discretionary_data_objects());
        case 0x007A:
            return make_tlv(0x7A, make_tlv(0x93, be_bytes(m_state.signature_counter, 3)));
        case 0x0093:
            return be_bytes(m_state.signature_counter, 3);
        case 0x00C0:
            return extended_capabilities();
        case 0x00C1:
        case 0x00C2:
        case 0x00C3:
            return m_state.slots[tag - 0xC1].attributes.raw;
        case 0x00C4:
            return pw_status_bytes();
        case 0x7F21:
            return m_state.slot(certificate_slot(m_session.certificate_occurrence)).certificate;
        case 0x7F74:
            return make_tlv(0x7F74, make_tlv(0x81, Bytes{0x00}));  // §4.1.3.2: no UI
        case 0x7F66: {  // §4.1.3.1 extended length information
            Bytes inner = make_tlv(0x02, be_bytes(k_max_command_data, 2));
            append_tlv(inner, 0x02, be_bytes(k_max_response_data, 2));
            return make_tlv(0x7F66, inner);
        }
        default:
            break;
    }
    Bytes d = discretionary_data_objects();
    if (auto t = find_tlv(d, tag);
        t && (tag == 0xC5 || tag == 0xC6 || tag == 0xCD || tag == 0xDE)) {
        return Bytes(t->value.begin(), t->value.end());
    }
    if (tag >= 0xC7 && tag <= 0xC9) return m_state.slots[tag - 0xC7].fingerprint;
    if (tag >= 0xCA && tag <= 0xCC) return m_state.slots[tag - 0xCA].ca_fingerprint;
    if (tag >= 0xCE && tag <= 0xD0) return m_state.slots[tag - 0xCE].generation_time;
    return std::nullopt;
}

// §7.2.6 GET DATA: P1P2 = tag.
Response Card::get_data(const CommandApdu& apdu) {
    auto value = data_object(apdu.p1p2());
    if (!value) return Response::status(StatusWord::ReferencedDataNotFound);
    return Response::ok(std::move(*value));
}

// §7.2.8 PUT DATA (even INS): P1P2 = tag; all DOs we support need PW3.
Response Card::put_data(const CommandApdu& apdu) {
    std::uint32_t tag = apdu.p1p2();
    if (!m_session.pw3) return Response::status(StatusWord::SecurityStatusNotSatisfied);
    if (tag >= 0xC1 && tag <= 0xC3) return put_algorithm_attributes(slot_at(tag - 0xC1), apdu.data);
    return put_simple_do(tag, apdu.data);
}

Response Card::put_simple_do(std::uint32_t tag, const Bytes& value) {
    auto too_long = [&](std::size_t max) { return value.size() > max; };
    auto set = [&](Bytes& field, std::size_t max) {
        if (too_long(max)) return Response::status(StatusWord::WrongLength);
        field = value;
        changed();
        return Response::status(StatusWord::Ok);
    };
    auto set_exact = [&](Bytes& field, std::size_t size) {
        if (!value.empty() && value.size() != size)
            return Response::status(StatusWord::WrongLength);
        field = value;
        changed();
        return Response::status(StatusWord::Ok);
    };
    switch (tag) {
        case 0x005B:
            return set(m_state.name, 39);
        case 0x5F2D:
            return set(m_state.language, 8);
        case 0x5F35:
            return set(m_state.sex, 1);
        case 0x5F50:
            return set(m_state.url, k_max_special_do);
        case 0x005E:
            return set(m_state.login, k_max_special_do);
        case 0x7F21:
            return set(m_state.slot(certificate_slot(m_session.certificate_occurrence)).certificate,
                       k_max_certificate);
        case 0x00C4:  // §4.4.3.10: only the first byte is changeable
            if (value.empty() || value.size() > 4 || value[0] > 1) {
                return Response::status(StatusWord::IncorrectData);
            }
            m_state.pw1_valid_for_several_signatures = value[0] == 1;
            changed();
            return Response::status(StatusWord::Ok);
        case 0x00D3:  // §4.3.2 resetting code: empty data removes it
            if (!value.empty() && (value.size() < CardState::k_rc_min_length ||
                                   value.size() > CardState::k_pw_max_length)) {
                return Response::status(StatusWord::WrongLength);
            }
            m_state.reset_code.value = value;
            m_state.reset_code.tries = value.empty() ? 0 : CardState::k_rc_max_tries;
            changed();
            return Response::status(StatusWord::Ok);
        default:
            break;
    }
    if (tag >= 0xC7 && tag <= 0xC9) return set_exact(m_state.slots[tag - 0xC7].fingerprint, 20);
    if (tag >= 0xCA && tag <= 0xCC) return set_exact(m_state.slots[tag - 0xCA].ca_fingerprint, 20);
    if (tag >= 0xCE && tag <= 0xD0) return set_exact(m_state.slots[tag - 0xCE].generation_time, 4);
    return Response::status(StatusWord::ReferencedDataNotFound);
}

// §4.4.3.9: changing the attributes invalidates the key in that slot.
Response Card::put_algorithm_attributes(KeySlot slot, const Bytes& value) {
    auto attrs = AlgorithmAttributes::parse(value, slot);
    if (!attrs) return Response::status(StatusWord::IncorrectData);
    KeySlotState& k = m_state.slot(slot);
    bool same_key_type = k.attributes.curve == attrs->curve &&
                         k.attributes.rsa_bits == attrs->rsa_bits &&
                         k.attributes.algorithm == attrs->algorithm;
    k.attributes = *attrs;
    if (!same_key_type) {
        k.key.reset();
        k.key_status = 0;
    }
    changed();
    return Response::status(StatusWord::Ok);
}

}  // namespace keyfence::vcard
