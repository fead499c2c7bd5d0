#pragma once
// The OpenPGP card application (OpenPGP card 3.4) over a Channel: select, read what the card
// says about itself, VERIFY behind the lockout guard, and the private-key operations. Signing
// is impossible until VERIFY succeeded (the card enforces it; this class never retries a PIN).

#include <cstdint>
#include <span>
#include <vector>

#include "base/handles.hpp"
#include "base/pin.hpp"
#include "base/result.hpp"
#include "base/secure_buffer.hpp"
#include "token/openpgp/apdu.hpp"
#include "token/openpgp/application_data.hpp"
#include "token/pin/lockout_guard.hpp"

namespace keyfence::token::openpgp {

/// PIN references of VERIFY (OpenPGP card 3.4 §7.2.2).
enum class PinRef : std::uint8_t {
    SignPw1 = 0x81,  ///< PW1 for PSO:CDS
    Pw1 = 0x82,      ///< PW1 for DECIPHER and INTERNAL AUTHENTICATE
    Pw3 = 0x83,      ///< admin PIN
};

class OpenPgpCard {
  public:
    /// SELECTs the OpenPGP application and reads its application related data (DO 6E).
    /// Errors: KeyNotFound (no OpenPGP application), BadInput (malformed answers).
    static base::Result<OpenPgpCard> select(Channel& channel);

    const ApplicationData& data() const noexcept { return m_data; }

    /// The PIN status bytes read now (DO C4): the tries left on each PIN.
    base::Result<PinStatus> read_pin_status();
    /// The digital signature counter read now (DO 7A / 93).
    base::Result<std::uint32_t> read_signature_counter();
    /// The cardholder's name from the cardholder related data (DO 65 / 5B, §4.4.3.3), with
    /// GnuPG's "Surname<<Given" form turned into "Given Surname"; empty when not set.
    base::Result<std::string> read_cardholder_name();
    /// The public key of a slot (GENERATE ASYMMETRIC KEY PAIR, read mode: §7.2.14).
    /// Errors: KeyNotFound when the slot holds no key.
    base::Result<base::EvpPkeyPtr> public_key(KeySlot slot);

    /// VERIFY with the lockout guard: the tries are read first; a blocked PIN is not tried,
    /// the last try is refused unless allowed. A wrong PIN is reported with the tries left
    /// read afterwards; it is never resubmitted.
    base::Status verify(PinRef ref, const base::Pin& pin, const LockoutOptions& options);

    /// PSO: COMPUTE DIGITAL SIGNATURE (§7.2.10): a DigestInfo for RSA, the hash for ECDSA,
    /// the message for EdDSA. Returns the card's signature (r || s for ECDSA).
    base::Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> input);
    /// PSO: DECIPHER for RSA (§7.2.11): the cryptogram, padding indicator 00 added here.
    base::Result<base::SecureBuffer> decipher_rsa(std::span<const std::uint8_t> cryptogram);
    /// PSO: DECIPHER for ECDH (§7.2.11): the peer's point in A6 { 7F49 { 86 point } }.
    base::Result<base::SecureBuffer> ecdh(std::span<const std::uint8_t> peer_point);

  private:
    OpenPgpCard(Channel& channel, ApplicationData data)
        : m_channel(&channel), m_data(std::move(data)) {}
    base::Result<std::vector<std::uint8_t>> get_data(std::uint16_t tag);

    Channel* m_channel;
    ApplicationData m_data;
};

/// The lockout guard for a card PIN with `tries` left: PinLocked at 0, LastTryRefused at 1
/// unless allowed.
base::Status check_pin_tries(const ApplicationData& card, PinRef ref, int tries,
                             const LockoutOptions& options);

/// The unblock advice for a blocked PW1 or PW3 on an OpenPGP card.
const char* openpgp_unblock_hint(PinRef ref);

}  // namespace keyfence::token::openpgp
