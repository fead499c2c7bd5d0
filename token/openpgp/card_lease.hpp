#pragma once
// CardLease: one authorized use of one OpenPGP card key. The PIN is asked before the card
// transaction begins; VERIFY, the operation and the counter reads then run in one short
// transaction (STYLE.md "PC/SC transactions stay short"). The PIN is wiped after that one use.

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
    static base::Result<CardLease> acquire(const CardEntry& card, KeySlot slot, PinSource& source,
                                           PinRequest request, const LockoutOptions& lockout);

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
};

/// Fills a PinRequest's token and key fields for a card slot.
void describe_card(const ApplicationData& card, KeySlot slot, PinRequest& request);

}  // namespace keyfence::token::openpgp
