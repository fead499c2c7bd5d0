// Password commands: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER
// (OpenPGP card 3.4 §7.2.2–§7.2.4) and the error counter rules of §4.3.
#include "card.hpp"

namespace keyfence::vcard {
namespace {

std::uint8_t max_tries_of(const CardState& s, const PasswordState& pw) {
    if (&pw == &s.pw3) return CardState::k_pw3_max_tries;
    if (&pw == &s.reset_code) return CardState::k_rc_max_tries;
    return CardState::k_pw1_max_tries;
}

bool valid_new_pw1(ByteView pw) {
    return pw.size() >= CardState::k_pw1_min_length && pw.size() <= CardState::k_pw_max_length;
}

bool valid_new_pw3(ByteView pw) {
    return pw.size() >= CardState::k_pw3_min_length && pw.size() <= CardState::k_pw_max_length;
}

}  // namespace

// §4.3: a wrong password decrements the error counter (blocked at 0, 6983 from then on);
// a correct one resets it to the maximum. Comparison is constant-time.
Response Card::check_password(PasswordState& pw, ByteView candidate) {
    if (pw.tries == 0 || pw.value.empty()) {
        return Response::status(StatusWord::AuthenticationMethodBlocked);
    }
    if (!secure_equal(pw.value, candidate)) {
        --pw.tries;
        changed();
        return Response::status(StatusWord::SecurityStatusNotSatisfied);
    }
    std::uint8_t max = max_tries_of(m_state, pw);
    if (pw.tries != max) {
        pw.tries = max;
        changed();
    }
    return Response::status(StatusWord::Ok);
}

// §7.2.2 VERIFY. P2 81: PW1 for PSO:CDS; 82: PW1 for other commands; 83: PW3.
// Empty data asks for the status (9000 if verified, else 63Cx); P1=FF resets the status.
Response Card::verify(const CommandApdu& apdu) {
    if (apdu.p2 < 0x81 || apdu.p2 > 0x83) return Response::status(StatusWord::IncorrectP1P2);
    bool* flag = apdu.p2 == 0x81   ? &m_session.pw1_sign
                 : apdu.p2 == 0x82 ? &m_session.pw1_other
                                   : &m_session.pw3;
    PasswordState& pw = apdu.p2 == 0x83 ? m_state.pw3 : m_state.pw1;
    if (apdu.p1 == 0xFF) {
        if (!apdu.data.empty()) return Response::status(StatusWord::WrongLength);
        *flag = false;
        return Response::status(StatusWord::Ok);
    }
    if (apdu.p1 != 0x00) return Response::status(StatusWord::WrongP1P2);
    if (apdu.data.empty()) {
        if (*flag) return Response::status(StatusWord::Ok);
        return Response::status(pin_tries_left(pw.tries));
    }
    Response r = check_password(pw, apdu.data);
    *flag = r.sw == 0x9000;
    return r;
}

// §7.2.3 CHANGE REFERENCE DATA: data = current password || new password; the card
// splits at the length of the stored password.
Response Card::change_reference_data(const CommandApdu& apdu) {
    if (apdu.p1 != 0x00 || (apdu.p2 != 0x81 && apdu.p2 != 0x83)) {
        return Response::status(StatusWord::IncorrectP1P2);
    }
    bool is_pw3 = apdu.p2 == 0x83;
    PasswordState& pw = is_pw3 ? m_state.pw3 : m_state.pw1;
    std::size_t old_len = std::min(pw.value.size(), apdu.data.size());
    ByteView data(apdu.data);
    Response r = check_password(pw, data.first(old_len));
    if (r.sw != 0x9000) {
        if (is_pw3)
            m_session.pw3 = false;
        else
            m_session.pw1_sign = m_session.pw1_other = false;
        return r;
    }
    ByteView fresh = data.subspan(old_len);
    if (is_pw3 ? !valid_new_pw3(fresh) : !valid_new_pw1(fresh)) {
        return Response::status(StatusWord::IncorrectData);
    }
    pw.value.assign(fresh.begin(), fresh.end());
    changed();
    return Response::status(StatusWord::Ok);
}

// §7.2.4 RESET RETRY COUNTER (PW1 only). P1=00: data = resetting code || new PW1;
// P1=02: data = new PW1, PW3 must be verified.
Response Card::reset_retry_counter(const CommandApdu& apdu) {
    if (apdu.p2 != 0x81 || (apdu.p1 != 0x00 && apdu.p1 != 0x02)) {
        return Response::status(StatusWord::IncorrectP1P2);
    }
    ByteView data(apdu.data);
    ByteView fresh;
    if (apdu.p1 == 0x02) {
        if (!m_session.pw3) return Response::status(StatusWord::SecurityStatusNotSatisfied);
        fresh = data;
    } else {
        PasswordState& rc = m_state.reset_code;
        std::size_t rc_len = std::min(rc.value.size(), data.size());
        Response r = check_password(rc, data.first(rc_len));
        if (r.sw != 0x9000) return r;
        fresh = data.subspan(rc_len);
    }
    if (!valid_new_pw1(fresh)) return Response::status(StatusWord::IncorrectData);
    m_state.pw1.value.assign(fresh.begin(), fresh.end());
    m_state.pw1.tries = CardState::k_pw1_max_tries;
    changed();
    return Response::status(StatusWord::Ok);
}

}  // namespace keyfence::vcard
