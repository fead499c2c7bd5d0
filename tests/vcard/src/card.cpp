// APDU dispatch, command chaining, GET RESPONSE, SELECT and the life cycle commands.
#include "card.hpp"

#include "tlv.hpp"

#include <algorithm>

namespace keyfence::vcard {

namespace ins {
constexpr std::uint8_t k_select = 0xA4, k_select_data = 0xA5, k_get_data = 0xCA, k_put_data = 0xDA,
                       k_put_data_odd = 0xDB, k_verify = 0x20, k_change_reference_data = 0x24,
                       k_reset_retry_counter = 0x2C, k_generate = 0x47, k_pso = 0x2A,
                       k_internal_authenticate = 0x88, k_get_challenge = 0x84,
                       k_get_response = 0xC0, k_terminate_df = 0xE6, k_activate_file = 0x44;
}  // namespace ins

CommandKind classify_command(ByteView raw) {
    if (raw.size() < 4) return CommandKind::Other;
    std::uint8_t i = raw[1], p1 = raw[2], p2 = raw[3];
    if (i == ins::k_pso && p1 == 0x9E && p2 == 0x9A) return CommandKind::Sign;
    if (i == ins::k_pso && p1 == 0x80 && p2 == 0x86) return CommandKind::Decipher;
    if (i == ins::k_internal_authenticate) return CommandKind::Authenticate;
    if (i == ins::k_generate)
        return p1 == 0x80 ? CommandKind::Generate : CommandKind::ReadPublicKey;
    return CommandKind::Other;
}

bool is_private_key_operation(CommandKind kind) {
    return kind == CommandKind::Sign || kind == CommandKind::Decipher ||
           kind == CommandKind::Authenticate || kind == CommandKind::Generate;
}

std::optional<KeySlot> slot_from_crt(std::uint32_t tag) {
    switch (tag) {
        case 0xB6:
            return KeySlot::Signature;
        case 0xB8:
            return KeySlot::Decryption;
        case 0xA4:
            return KeySlot::Authentication;
        default:
            return std::nullopt;
    }
}

Card::Card(CardState state) : m_state(std::move(state)) {}

void Card::power_off() {
    m_session = Session{};
}
void Card::power_on() {
    m_session = Session{};
}
void Card::reset() {
    m_session = Session{};
}

void Card::changed() {
    if (m_listener) m_listener(m_state);
}

Bytes Card::process(ByteView raw) {
    auto parsed = parse_command_apdu(raw);
    if (!parsed) return serialize_response(Response::status(StatusWord::WrongLength));
    CommandApdu apdu = std::move(*parsed);
    // ISO 7816-4 §5.4.1: first interindustry class; b5 chaining, b4-b3 secure messaging.
    if ((apdu.cla & 0xE3) != 0)
        return serialize_response(Response::status(StatusWord::ClassNotSupported));
    if ((apdu.cla & 0x0C) != 0) return serialize_response(Response::status(0x6882));
    if (apdu.ins == ins::k_get_response) return deliver(get_response(apdu), apdu);
    m_session.pending.clear();

    // ISO 7816-4 §5.1.1.1 command chaining: collect data until a command without b5.
    if (apdu.chained()) {
        if (m_session.chaining &&
            (m_session.chain_ins != apdu.ins || m_session.chain_p1 != apdu.p1 ||
             m_session.chain_p2 != apdu.p2)) {
            m_session.chain_data.clear();
        }
        m_session.chaining = true;
        m_session.chain_ins = apdu.ins;
        m_session.chain_p1 = apdu.p1;
        m_session.chain_p2 = apdu.p2;
        append(m_session.chain_data, apdu.data);
        if (m_session.chain_data.size() > k_max_chain_buffer) {
            m_session.chaining = false;
            m_session.chain_data.clear();
            return serialize_response(Response::status(StatusWord::WrongLength));
        }
        return serialize_response(Response::status(StatusWord::Ok));
    }
    if (m_session.chaining) {
        bool same = m_session.chain_ins == apdu.ins && m_session.chain_p1 == apdu.p1 &&
                    m_session.chain_p2 == apdu.p2;
        Bytes collected = std::move(m_session.chain_data);
        m_session.chaining = false;
        m_session.chain_data.clear();
        if (!same)
            return serialize_response(Response::status(StatusWord::LastCommandOfChainExpected));
        append(collected, apdu.data);
        apdu.data = std::move(collected);
    } else if (apdu.data.size() > k_max_command_data) {
        return serialize_response(Response::status(StatusWord::WrongLength));
    }
    return deliver(dispatch(apdu), apdu);
}

// ISO 7816-4 §5.3.4: hand out at most Ne bytes; the rest waits for GET RESPONSE (61xx).
// Without Le (cases 1 and 3) no response data is expected, so none is sent: scdaemon's
// SELECT without Le and gpg's factory-reset insist on a plain 9000 there.
Bytes Card::deliver(Response r, const CommandApdu& apdu) {
    if (!apdu.le_present && apdu.ins != 0xC0) {
        r.data.clear();
        return serialize_response(r);
    }
    std::size_t limit = apdu.le_present ? apdu.le : 256;  // GET RESPONSE without Le: 256
    if (r.data.size() <= limit || (r.sw & 0xFF00) == 0x6100) return serialize_response(r);
    std::size_t now = std::min(limit, r.data.size());
    m_session.pending.assign(r.data.begin() + static_cast<long>(now), r.data.end());
    r.data.resize(now);
    r.sw = bytes_remaining(m_session.pending.size());
    return serialize_response(r);
}

Response Card::get_response(const CommandApdu& apdu) {
    if (apdu.p1 != 0 || apdu.p2 != 0) return Response::status(StatusWord::WrongP1P2);
    if (m_session.pending.empty()) return Response::status(StatusWord::ConditionsOfUseNotSatisfied);
    Response r = Response::ok(std::move(m_session.pending));
    m_session.pending.clear();
    return r;  // deliver() splits again if Le is smaller than what is left
}

Response Card::dispatch(const CommandApdu& apdu) {
    // OpenPGP card 3.4 §7.2.16: a terminated application only accepts SELECT/ACTIVATE.
    if (m_state.terminated && apdu.ins != ins::k_activate_file) {
        if (apdu.ins == ins::k_select) {
            Response r = select(apdu);
            if (r.sw == 0x9000) return Response::status(StatusWord::SelectedFileTerminated);
            return r;
        }
        return Response::status(StatusWord::SelectedFileTerminated);
    }
    switch (apdu.ins) {
        case ins::k_select:
            return select(apdu);
        case ins::k_select_data:
            return select_data(apdu);
        case ins::k_get_data:
            return get_data(apdu);
        case ins::k_put_data:
            return put_data(apdu);
        case ins::k_put_data_odd:
            return import_key(apdu);
        case ins::k_verify:
            return verify(apdu);
        case ins::k_change_reference_data:
            return change_reference_data(apdu);
        case ins::k_reset_retry_counter:
            return reset_retry_counter(apdu);
        case ins::k_generate:
            return generate_key_pair(apdu);
        case ins::k_pso:
            return perform_security_operation(apdu);
        case ins::k_internal_authenticate:
            return internal_authenticate(apdu);
        case ins::k_get_challenge:
            return get_challenge(apdu);
        case ins::k_terminate_df:
            return terminate_df(apdu);
        case ins::k_activate_file:
            return activate_file(apdu);
        default:
            return Response::status(StatusWord::InstructionNotSupported);
    }
}

// ISO 7816-4 §7.1.1 SELECT; OpenPGP card 3.4 §7.2.1. Only selection by DF name of the
// OpenPGP application (full or partial AID) succeeds; MF, EF and other applications are
// 6A82 so that clients (e.g. scdaemon probing 3F00/2F02) do not take us for another card.
Response Card::select(const CommandApdu& apdu) {
    if (apdu.p1 != 0x04) return Response::status(StatusWord::FileOrApplicationNotFound);
    Bytes aid = m_state.aid();
    bool match = apdu.data.size() >= k_openpgp_rid.size() && apdu.data.size() <= aid.size() &&
                 std::equal(apdu.data.begin(), apdu.data.end(), aid.begin());
    if (!match) return Response::status(StatusWord::FileOrApplicationNotFound);
    if ((apdu.p2 & 0x0C) == 0x0C) return Response::status(StatusWord::Ok);  // no FCI
    Bytes fci_inner = make_tlv(0x84, aid);
    return Response::ok(make_tlv(0x6F, fci_inner));
}

// OpenPGP card 3.4 §7.2.5 SELECT DATA: choose which 7F21 GET/PUT DATA addresses.
// Occurrence 0 = AUT, 1 = DEC, 2 = SIG. Data: 60 04 5C 02 7F 21.
Response Card::select_data(const CommandApdu& apdu) {
    if (apdu.p1 > 2 || apdu.p2 != 0x04) return Response::status(StatusWord::WrongP1P2);
    auto outer = find_tlv(apdu.data, 0x60);
    if (!outer) return Response::status(StatusWord::IncorrectData);
    auto tag = find_tlv(outer->value, 0x5C);
    if (!tag || tag->value.size() != 2 || tag->value[0] != 0x7F || tag->value[1] != 0x21) {
        return Response::status(StatusWord::ReferencedDataNotFound);
    }
    m_session.certificate_occurrence = apdu.p1;
    return Response::status(StatusWord::Ok);
}

// §7.2.16 TERMINATE DF: allowed when PW3 is verified or blocked.
Response Card::terminate_df(const CommandApdu& apdu) {
    if (apdu.p1 != 0 || apdu.p2 != 0) return Response::status(StatusWord::WrongP1P2);
    if (!m_session.pw3 && m_state.pw3.tries != 0) {
        return Response::status(StatusWord::SecurityStatusNotSatisfied);
    }
    m_state.terminated = true;
    m_session = Session{};
    changed();
    return Response::status(StatusWord::Ok);
}

// §7.2.17 ACTIVATE FILE: after TERMINATE DF, back to factory state (same serial).
Response Card::activate_file(const CommandApdu& apdu) {
    if (apdu.p1 != 0 || apdu.p2 != 0) return Response::status(StatusWord::WrongP1P2);
    if (!m_state.terminated) return Response::status(StatusWord::Ok);
    m_state = CardState::factory(m_state.serial, m_state.manufacturer);
    m_session = Session{};
    changed();
    return Response::status(StatusWord::Ok);
}

}  // namespace keyfence::vcard
