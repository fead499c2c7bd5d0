#pragma once
// CardLease: one authorized use of one OpenPGP card key. The PIN is asked before the card
// transaction begins; VERIFY, the operation and the counter reads then run in one short
// transaction (STYLE.md "PC/SC transactions stay short"). The PIN is wiped after that one use.
//
// A lease held for a PIN session (hold_for_session) connects exclusively and, when the card's
// PW1 status byte says "PW1 valid for several PSO:CDS" (OpenPGP card 3.4 §4.4.1, DO C4 byte 1),
// keeps the card verified after its first signature: the next signatures on the same
// connection need no PIN, and no PIN is kept. A card that allows one signature per VERIFY is
// never held (it would need the PIN kept in memory). When a lease that left the card verified
// ends, it resets PW1 (VERIFY P1=FF P2=81).

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/handles.hpp"
#include "base/pin.hpp"
#include "base/result.hpp"
#include "token/openpgp/card_directory.hpp"
#include "token/openpgp/openpgp_card.hpp"
#include "token/pin/pin_source.hpp"
#include "token/pkcs11/mechanisms.hpp"

namespace keyfence::token::openpgp {

class CardLease {
  public:
    /// Connects to `card` (found with find_card), reads `slot`'s public key, checks the PIN's
    /// tries (a blocked PIN, or the last try without --allow-last-pin-try, is refused before
    /// any prompt), and asks `source` once. Errors: TokenRemoved, KeyNotFound, PinLocked,
    /// LastTryRefused, Cancelled, ...
    /// `hold_for_session`: connect exclusively so that the card can stay verified for a PIN
    /// session (falls back to a shared connection, and no holding, when another program is
    /// connected to the card now).
    static base::Result<CardLease> acquire(const CardEntry& card, KeySlot slot, PinSource& source,
                                           PinRequest request, const LockoutOptions& lockout,
                                           bool hold_for_session = false);
    /// Whether acquire() with hold_for_session would hold the card verified: its PW1 status
    /// byte allows several signatures per VERIFY.
    static bool can_hold(const ApplicationData& card) noexcept {
        return card.pins.pw1_valid_for_several_signatures;
    }

    CardLease(CardLease&&) noexcept;
    CardLease& operator=(CardLease&&) = delete;
    CardLease(const CardLease&) = delete;  // one PIN, one use
    CardLease& operator=(const CardLease&) = delete;
    ~CardLease();

    /// Signs a digest with the signature key: RSA over a DigestInfo, ECDSA over the digest
    /// (returned as DER), EdDSA over the digest bytes (hash-then-sign, as OpenPGP does). The
    /// card's signature counter must rise by exactly one, and the signature must verify with
    /// the card's public key, or nothing is returned.
    base::Result<std::vector<std::uint8_t>> sign_digest(pkcs11::Hash hash,
                                                        std::span<const std::uint8_t> digest);

    /// True after a signature on a held lease: the card is still verified on this exclusive
    /// connection, and sign_digest may be called again without a PIN.
    bool holds_verified() const noexcept { return m_verified; }
    /// For the next signature of a session: the same card is still in the reader on this
    /// connection (not removed, reset or replaced) and still verified for PSO:CDS (VERIFY 81
    /// without data answers 9000). Sends no PIN. Errors: TokenRemoved. On an error the lease
    /// no longer holds the card.
    base::Status check_still_verified();
    /// Resets PW1 on the card (VERIFY P1=FF for 81, then 82) when this lease left it verified;
    /// best effort (a removed card has lost its state anyway). Called by the destructor.
    void forget() noexcept;

    EVP_PKEY* public_key() const noexcept { return m_public_key.get(); }
    const ApplicationData& card() const noexcept { return m_data; }
    const std::string& reader() const noexcept { return m_reader; }
    std::uint32_t signature_counter() const noexcept { return m_counter; }

  private:
    struct Connection;
    CardLease() = default;

    std::unique_ptr<Connection> m_connection;
    ApplicationData m_data;
    std::string m_reader;
    KeySlot m_slot = KeySlot::Signature;
    base::EvpPkeyPtr m_public_key;
    std::optional<base::Pin> m_pin;
    LockoutOptions m_lockout;
    std::uint32_t m_counter = 0;
    bool m_hold = false;      ///< exclusive connection, may keep the card verified
    bool m_verified = false;  ///< the card is verified for PSO:CDS on this connection
};

/// Fills a PinRequest's token and key fields for a card slot.
void describe_card(const ApplicationData& card, KeySlot slot, PinRequest& request);

}  // namespace keyfence::token::openpgp
