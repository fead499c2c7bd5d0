#include "token/openpgp/card_lease.hpp"

#include "base/hex.hpp"
#include "base/logger.hpp"
#include "base/openssl_error.hpp"
#include "token/openpgp/pcsc_transport.hpp"
#include "token/pcsc/context.hpp"

namespace keyfence::token::openpgp {
namespace {
using base::ErrorCode;

base::Status verify_card_signature(EVP_PKEY* key, pkcs11::Hash hash,
                                   std::span<const std::uint8_t> digest,
                                   std::span<const std::uint8_t> signature) {
    const int type = EVP_PKEY_get_base_id(key);
    int ok = 0;
    if (type == EVP_PKEY_ED25519) {
        base::EvpMdCtxPtr md(EVP_MD_CTX_new());
        ok = EVP_DigestVerifyInit(md.get(), nullptr, nullptr, nullptr, key) == 1 &&
             EVP_DigestVerify(md.get(), signature.data(), signature.size(), digest.data(),
                              digest.size()) == 1;
    } else {
        base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
        ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx.get(), pkcs11::hash_md(hash)) == 1 &&
             EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                             digest.size()) == 1;
    }
    base::clear_openssl_errors();
    if (ok) return {};
    return base::Error(
        ErrorCode::ModuleFailure,
        "the card returned a signature that does not verify with its public key; "
        "it was withheld",
        "the card may be faulty or tampered with; stop using it until it is checked");
}
}  // namespace

// A transaction on the card; after a reset since the prompt (another program, a power cycle)
// reconnect once: the card's PIN state is gone, and select and VERIFY start afresh.
base::Result<pcsc::Transaction> begin_transaction(pcsc::CardConnection& card) {
    auto transaction = pcsc::Transaction::begin(card);
    if (transaction || transaction.error().raw != static_cast<std::uint32_t>(SCARD_W_RESET_CARD)) {
        return transaction;
    }
    KEYFENCE_TRY(card.reconnect());
    return pcsc::Transaction::begin(card);
}

struct CardLease::Connection {
    pcsc::Context context;
    pcsc::CardConnection card;
    PcscTransport transport{card};
    Channel channel{transport};
};

void describe_card(const ApplicationData& card, KeySlot slot, PinRequest& request) {
    request.token_label = "OpenPGP card " + card.serial_text();
    request.token_manufacturer = card.manufacturer_name();
    request.token_model = "OpenPGP card " + std::to_string(card.version_major) + "." +
                          std::to_string(card.version_minor);
    request.token_serial = card.serial_text();
    request.token_is_software = card.is_test_card();
    const auto index = static_cast<std::size_t>(slot);
    request.key_label = std::string(slot_name(slot)) + " key, " + card.algorithms[index].describe();
    request.key_fingerprint = base::to_hex(card.fingerprints[index]);
    const int tries = card.pins.pw1_tries;
    request.tries_left = tries;
    request.final_try = tries == 1;
}

base::Result<CardLease> CardLease::acquire(const CardEntry& entry, KeySlot slot, PinSource& source,
                                           PinRequest request, const LockoutOptions& lockout,
                                           bool hold_for_session) {
    KEYFENCE_TRY_ASSIGN(context, pcsc::Context::establish());
    bool hold = hold_for_session && entry.card && can_hold(*entry.card);
    std::optional<pcsc::CardConnection> connection;
    {
        auto connected = pcsc::CardConnection::connect(context, entry.reader, hold);
        if (connected) {
            connection.emplace(std::move(*connected));
        } else if (!hold ||
                   connected.error().raw != static_cast<std::uint32_t>(SCARD_E_SHARING_VIOLATION)) {
            return std::move(connected).error();
        }
    }
    if (!connection) {
        // Another program is connected: no session, this signature alone.
        hold = false;
        KEYFENCE_TRY_ASSIGN(shared, pcsc::CardConnection::connect(context, entry.reader));
        connection.emplace(std::move(shared));
    }
    CardLease lease;
    lease.m_connection.reset(new Connection{std::move(context), std::move(*connection)});
    lease.m_hold = hold;
    lease.m_reader = entry.reader;
    lease.m_slot = slot;
    lease.m_lockout = lockout;
    KEYFENCE_TRY_ASSIGN(card, OpenPgpCard::select(lease.m_connection->channel));
    KEYFENCE_TRY_ASSIGN(pub, card.public_key(slot));
    lease.m_public_key = std::move(pub);
    lease.m_data = card.data();
    lease.m_counter = entry.signature_counter;
    // Refuse before the prompt what the guard would refuse at VERIFY anyway.
    KEYFENCE_TRY(
        check_pin_tries(lease.m_data, PinRef::SignPw1, lease.m_data.pins.pw1_tries, lockout));
    describe_card(lease.m_data, slot, request);
    KEYFENCE_TRY_ASSIGN(pin, source.ask(request));
    if (pin.empty()) {
        return base::Error(ErrorCode::PinInvalid, "an empty PIN was given; nothing was sent");
    }
    lease.m_pin = std::move(pin);
    return lease;
}

CardLease::CardLease(CardLease&& o) noexcept
    : m_connection(std::move(o.m_connection)),
      m_data(std::move(o.m_data)),
      m_reader(std::move(o.m_reader)),
      m_slot(o.m_slot),
      m_public_key(std::move(o.m_public_key)),
      m_pin(std::move(o.m_pin)),
      m_lockout(o.m_lockout),
      m_counter(o.m_counter),
      m_hold(o.m_hold),
      m_verified(std::exchange(o.m_verified, false)) {
    o.m_pin.reset();
}

CardLease::~CardLease() {
    forget();
}

void CardLease::forget() noexcept {
    if (!m_verified || !m_connection) return;
    m_verified = false;
    // VERIFY P1=FF resets the verified state (OpenPGP card 3.4 §7.2.2); no PIN is sent.
    for (std::uint8_t ref : {std::uint8_t{0x81}, std::uint8_t{0x82}}) {
        Command reset{0x00, 0x20, 0xFF, ref, {}, false, false};
        auto answer = m_connection->channel.send(reset);
        if (!answer) return;  // removed or reset: the card's PIN state is gone with it
        if (!answer->ok()) {
            base::log_warn("the OpenPGP card ", m_data.serial_text(),
                           " did not reset its PIN state; remove it from the reader to reset it");
            return;
        }
    }
}

base::Status CardLease::check_still_verified() {
    if (!m_verified) {
        return base::Error(ErrorCode::TokenRemoved, "the card is not verified on this connection");
    }
    auto fail = [this](base::Error why) {
        m_verified = false;  // a removed or replaced card: nothing to reset on it
        return why;
    };
    auto card = OpenPgpCard::select(m_connection->channel);
    if (!card) return fail(std::move(card).error());
    if (card->data().serial_text() != m_data.serial_text()) {
        return fail(
            base::Error(ErrorCode::TokenRemoved,
                        "another card is in the reader of the card " + m_data.serial_text()));
    }
    Command status{0x00, 0x20, 0x00, 0x81, {}, false, false};
    auto answer = m_connection->channel.send(status);
    if (!answer) return fail(std::move(answer).error());
    if (!answer->ok()) {
        return fail(base::Error(
            ErrorCode::TokenRemoved,
            "the card " + m_data.serial_text() + " is no longer verified (it was reset)"));
    }
    return {};
}

base::Result<std::vector<std::uint8_t>> CardLease::sign_digest(
    pkcs11::Hash hash, std::span<const std::uint8_t> digest) {
    if (m_slot != KeySlot::Signature) {
        return base::Error(ErrorCode::Usage, "signatures come from the card's sig slot");
    }
    const bool resume = !m_pin && m_verified;  // a PIN session's next signature
    if (!m_pin && !resume) {
        return base::Error(ErrorCode::Internal, "the card lease was used twice");
    }
    base::Pin pin;
    if (m_pin) {
        pin = std::move(*m_pin);
        m_pin.reset();
    }
    const AlgorithmAttributes& alg = m_data.algorithms[0];
    std::vector<std::uint8_t> input(digest.begin(), digest.end());
    if (alg.kind == AlgorithmAttributes::Kind::Rsa) {
        KEYFENCE_TRY_ASSIGN(info, pkcs11::digest_info(hash, digest));
        input = std::move(info);
    } else if (alg.kind == AlgorithmAttributes::Kind::Unknown) {
        return base::Error(ErrorCode::Unsupported, "the card's signature key algorithm is unknown");
    }
    Channel& channel = m_connection->channel;
    std::vector<std::uint8_t> signature;
    std::uint32_t before = 0, after = 0;
    {
        // Another program may have used the card since the prompt: select again. In a session
        // the card is still verified on this exclusive connection, checked without a PIN.
        if (resume) KEYFENCE_TRY(check_still_verified());
        KEYFENCE_TRY_ASSIGN(card, OpenPgpCard::select(channel));
        if (!resume) {
            KEYFENCE_TRY(card.verify(PinRef::SignPw1, pin, m_lockout));
            // From here on the card may stay verified: forget() resets it unless held.
            m_verified = card.data().pins.pw1_valid_for_several_signatures;
        }
        KEYFENCE_TRY_ASSIGN(counter, card.read_signature_counter());
        before = counter;
        KEYFENCE_TRY_ASSIGN(raw, card.sign(input));
        signature = std::move(raw);
        KEYFENCE_TRY_ASSIGN(counter_after, card.read_signature_counter());
        after = counter_after;
    }

    if (after != before + 1) {
        return base::Error(ErrorCode::ModuleFailure,
                           "the card's signature counter went from " + std::to_string(before) +
                               " to " + std::to_string(after) +
                               " for one signature; the "
                               "signature was withheld",
                           "another program may be signing with this card; check it");
    }
    m_counter = after;
    if (!m_hold) forget();  // one operation: leave no verified card behind
    if (alg.kind == AlgorithmAttributes::Kind::Ecdsa) {
        KEYFENCE_TRY_ASSIGN(der, pkcs11::ecdsa_raw_to_der(signature));
        signature = std::move(der);
    }
    KEYFENCE_TRY(verify_card_signature(m_public_key.get(), hash, digest, signature));
    return signature;
}

}  // namespace keyfence::token::openpgp
