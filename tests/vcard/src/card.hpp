// The OpenPGP card application (OpenPGP card 3.4) as a pure function of APDUs: bytes in,
// bytes out, no sockets and no files. Not thread-safe: one reader drives one card.
#pragma once

#include "apdu.hpp"
#include "card_state.hpp"

#include <functional>
#include <map>

namespace keyfence::vcard {

/// Limits the card advertises in C0 and 7F66 (OpenPGP card 3.4 §4.4.3.7, §4.1.3.1).
inline constexpr std::size_t k_max_command_data = 0x0BFE;
inline constexpr std::size_t k_max_response_data = 0x0BFE;
inline constexpr std::size_t k_max_challenge = 0x0100;
inline constexpr std::size_t k_max_certificate = 0x0800;
inline constexpr std::size_t k_max_special_do = 0x00FF;
inline constexpr std::size_t k_max_chain_buffer = 0x4000;

/// Kind of a command, for fault injection and logs.
enum class CommandKind { Other, Sign, Decipher, Authenticate, Generate, ReadPublicKey };

/// Classifies a raw command APDU without executing it.
CommandKind classify_command(ByteView raw);

/// True for commands that use a private key (PSO, INTERNAL AUTHENTICATE, GENERATE P1=80).
bool is_private_key_operation(CommandKind kind);

class Card {
  public:
    /// Called after every change of persistent state (the state file writer).
    using StateListener = std::function<void(const CardState&)>;

    explicit Card(CardState state);

    /// Processes one command APDU and returns data || SW1 || SW2. Never throws for any
    /// input (malformed APDUs give 6700/6E00/...); allocation failure may throw.
    Bytes process(ByteView raw_apdu);

    /// Power off / on / warm reset: verified passwords, chains and pending responses are lost.
    void power_off();
    void power_on();
    void reset();

    const CardState& state() const { return m_state; }
    void set_state_listener(StateListener listener) { m_listener = std::move(listener); }

    /// Fault: flip one bit of every signature PSO:CDS / INTERNAL AUTHENTICATE returns.
    void set_corrupt_signature(bool on) { m_corrupt_signature = on; }
    /// Fault: each signature adds `step` to the signature counter (0: a stuck counter; 2: as if
    /// a signature was made unseen in between).
    void set_counter_step(unsigned step) { m_counter_step = step; }

  private:
    struct Session {
        bool pw1_sign = false;   // PW1 verified in mode 81
        bool pw1_other = false;  // PW1 verified in mode 82
        bool pw3 = false;
        bool chaining = false;
        std::uint8_t chain_ins = 0, chain_p1 = 0, chain_p2 = 0;
        Bytes chain_data;
        Bytes pending;                           // response bytes waiting for GET RESPONSE
        std::size_t certificate_occurrence = 0;  // SELECT DATA for 7F21
    };

    Response dispatch(const CommandApdu& apdu);
    Bytes deliver(Response r, const CommandApdu& apdu);
    Response get_response(const CommandApdu& apdu);
    void changed();

    // card.cpp
    Response select(const CommandApdu& apdu);
    Response select_data(const CommandApdu& apdu);
    Response terminate_df(const CommandApdu& apdu);
    Response activate_file(const CommandApdu& apdu);
    // card_data_objects.cpp
    Response get_data(const CommandApdu& apdu);
    Response put_data(const CommandApdu& apdu);
    std::optional<Bytes> data_object(std::uint32_t tag) const;
    Bytes application_related_data() const;
    Bytes discretionary_data_objects() const;
    Bytes pw_status_bytes() const;
    Bytes extended_capabilities() const;
    Response put_simple_do(std::uint32_t tag, const Bytes& value);
    Response put_algorithm_attributes(KeySlot slot, const Bytes& value);
    // card_pins.cpp
    Response verify(const CommandApdu& apdu);
    Response change_reference_data(const CommandApdu& apdu);
    Response reset_retry_counter(const CommandApdu& apdu);
    Response check_password(PasswordState& pw, ByteView candidate);
    // card_keys.cpp
    Response generate_key_pair(const CommandApdu& apdu);
    Response perform_security_operation(const CommandApdu& apdu);
    Response compute_signature(const CommandApdu& apdu);
    Response decipher(const CommandApdu& apdu);
    Response internal_authenticate(const CommandApdu& apdu);
    Response get_challenge(const CommandApdu& apdu);
    Response import_key(const CommandApdu& apdu);
    Response sign_with(KeySlot slot, ByteView input);

    CardState m_state;
    Session m_session;
    StateListener m_listener;
    bool m_corrupt_signature = false;
    unsigned m_counter_step = 1;
};

/// Slot addressed by a control reference template B6 / B8 / A4 (§7.2.14), if any.
std::optional<KeySlot> slot_from_crt(std::uint32_t tag);

}  // namespace keyfence::vcard
