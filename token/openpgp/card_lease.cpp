#include "token/openpgp/card_lease.hpp"

#include "base/hex.hpp"
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
                                           PinRequest request, const LockoutOptions& lockout) {
    KEYFENCE_TRY_ASSIGN(context, pcsc::Context::establish());
    KEYFENCE_TRY_ASSIGN(connection, pcsc::CardConnection::connect(context, entry.reader));
    CardLease lease;
    lease.m_connection.reset(new Connection{std::move(context), std::move(connection)});
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

CardLease::CardLease(CardLease&& o) noexcept = default;

CardLease::~CardLease() = default;

base::Result<std::vector<std::uint8_t>> CardLease::sign_digest(
    pkcs11::Hash hash, std::span<const std::uint8_t> digest) {
    if (m_slot != KeySlot::Signature) {
        return base::Error(ErrorCode::Usage, "signatures come from the card's sig slot");
    }
    if (!m_pin) return base::Error(ErrorCode::Internal, "the card lease was used twice");
    const base::Pin pin = std::move(*m_pin);
    m_pin.reset();
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
        // Another program may have used the card since the prompt: select again.
        KEYFENCE_TRY_ASSIGN(card, OpenPgpCard::select(channel));
        KEYFENCE_TRY(card.verify(PinRef::SignPw1, pin, m_lockout));
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
    if (alg.kind == AlgorithmAttributes::Kind::Ecdsa) {
        KEYFENCE_TRY_ASSIGN(der, pkcs11::ecdsa_raw_to_der(signature));
        signature = std::move(der);
    }
    KEYFENCE_TRY(verify_card_signature(m_public_key.get(), hash, digest, signature));
    return signature;
}

}  // namespace keyfence::token::openpgp
