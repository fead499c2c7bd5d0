#include "token/openpgp/openpgp_card.hpp"

#include "token/key_builders.hpp"
#include "token/openpgp/status_word.hpp"
#include "token/openpgp/tlv.hpp"

namespace keyfence::token::openpgp {
namespace {
using base::ErrorCode;

constexpr std::uint8_t k_aid_prefix[] = {0xD2, 0x76, 0x00, 0x01, 0x24, 0x01};

base::SecureBuffer to_secure(const std::vector<std::uint8_t>& bytes) {
    base::SecureBuffer out(bytes.size());
    for (std::uint8_t b : bytes) out.push_back(b);
    return out;
}

std::string pin_name(PinRef ref) {
    return ref == PinRef::Pw3 ? "admin PIN (PW3)" : "PIN (PW1)";
}
}  // namespace

const char* openpgp_unblock_hint(PinRef ref) {
    return ref == PinRef::Pw3
               ? "the admin PIN is blocked: only a factory reset helps ('gpg --card-edit', "
                 "'admin', 'factory-reset'; the card's keys are lost)"
               : "unblock the PIN with the admin PIN ('gpg --card-edit', 'admin', 'passwd', "
                 "'2') or the resetting code ('gpg --card-edit', 'unblock')";
}

base::Status check_pin_tries(const ApplicationData& card, PinRef ref, int tries,
                             const LockoutOptions& options) {
    const std::string name = pin_name(ref) + " of OpenPGP card " + card.serial_text();
    if (tries == 0) {
        base::Error e(ErrorCode::PinLocked, "the " + name + " is blocked; no PIN was sent",
                      openpgp_unblock_hint(ref));
        e.retries_left = 0;
        return e;
    }
    if (tries == 1 && !options.allow_last_pin_try) {
        base::Error e(ErrorCode::LastTryRefused,
                      "only one try is left on the " + name +
                          "; Keyfence will not spend it without your say-so",
                      "if you are sure of the PIN, run the command again with "
                      "--allow-last-pin-try; a wrong PIN then blocks it");
        e.retries_left = 1;
        return e;
    }
    return {};
}

base::Result<OpenPgpCard> OpenPgpCard::select(Channel& channel) {
    // OpenPGP card 3.4 §7.2.1 SELECT by AID (partial: RID + PIX prefix), FCI not requested.
    KEYFENCE_TRY_ASSIGN(
        selected,
        channel.send(
            {.ins = 0xA4, .p1 = 0x04, .p2 = 0x00, .data = k_aid_prefix, .expect_data = true}));
    if (!selected.ok()) return card_error(selected.sw, "the card has no OpenPGP application");
    KEYFENCE_TRY_ASSIGN(do6e, channel.send({.ins = 0xCA, .p1 = 0x00, .p2 = 0x6E}));
    if (!do6e.ok()) return card_error(do6e.sw, "could not read the card's application data");
    KEYFENCE_TRY_ASSIGN(data, parse_application_data(do6e.data));
    channel.set_extended(data.extended_length);
    return OpenPgpCard(channel, std::move(data));
}

base::Result<std::vector<std::uint8_t>> OpenPgpCard::get_data(std::uint16_t tag) {
    KEYFENCE_TRY_ASSIGN(r, m_channel->send({.ins = 0xCA,
                                            .p1 = static_cast<std::uint8_t>(tag >> 8),
                                            .p2 = static_cast<std::uint8_t>(tag)}));
    if (!r.ok()) return card_error(r.sw, "could not read data from the card");
    return std::move(r.data);
}

base::Result<PinStatus> OpenPgpCard::read_pin_status() {
    KEYFENCE_TRY_ASSIGN(c4, get_data(0x00C4));
    // Cards answer with the bare value or wrapped in its tag (C4 07 ...).
    auto value = std::span<const std::uint8_t>(c4);
    if (value.size() == 9 && value[0] == 0xC4) value = value.subspan(2);
    KEYFENCE_TRY_ASSIGN(status, parse_pin_status(value));
    m_data.pins = status;
    return status;
}

base::Result<std::uint32_t> OpenPgpCard::read_signature_counter() {
    KEYFENCE_TRY_ASSIGN(do7a, get_data(0x007A));
    return parse_signature_counter(do7a);
}

base::Result<std::string> OpenPgpCard::read_cardholder_name() {
    KEYFENCE_TRY_ASSIGN(do65, get_data(0x0065));
    KEYFENCE_TRY_ASSIGN(name, find_tlv(do65, 0x5B));
    if (!name) return std::string();
    std::string text(name->value.begin(), name->value.end());
    if (const auto sep = text.find("<<"); sep != std::string::npos) {
        text = text.substr(sep + 2) + " " + text.substr(0, sep);
    }
    for (char& c : text) {
        if (c == '<') c = ' ';
        if (static_cast<unsigned char>(c) < 0x20) c = '?';  // never print control bytes
    }
    return text;
}

base::Result<base::EvpPkeyPtr> OpenPgpCard::public_key(KeySlot slot) {
    static constexpr std::uint8_t k_crt[3][2] = {{0xB6, 0x00}, {0xB8, 0x00}, {0xA4, 0x00}};
    const auto index = static_cast<std::size_t>(slot);
    // Not gated on the fingerprint DOs: after GENERATE they stay empty until a client
    // (gpg) writes them, yet the key is there.
    KEYFENCE_TRY_ASSIGN(
        r, m_channel->send({.ins = 0x47, .p1 = 0x81, .p2 = 0x00, .data = k_crt[index]}));
    if (!r.ok()) {
        return card_error(
            r.sw, "the card's " + std::string(slot_name(slot)) + " slot holds no readable key");
    }
    const AlgorithmAttributes& alg = m_data.algorithms[index];
    if (alg.kind == AlgorithmAttributes::Kind::Rsa) {
        KEYFENCE_TRY_ASSIGN(n, find_tlv(r.data, 0x81));
        KEYFENCE_TRY_ASSIGN(e, find_tlv(r.data, 0x82));
        if (!n || !e)
            return base::Error(ErrorCode::BadInput, "the card's RSA public key is incomplete");
        return rsa_public_key(n->value, e->value);
    }
    KEYFENCE_TRY_ASSIGN(point, find_tlv(r.data, 0x86));
    if (!point) return base::Error(ErrorCode::BadInput, "the card's EC public key is missing");
    if (alg.curve == "P-256") return ec_public_key("prime256v1", point->value);
    if (alg.curve == "P-384") return ec_public_key("secp384r1", point->value);
    if (alg.curve == "P-521") return ec_public_key("secp521r1", point->value);
    if (alg.curve == "Ed25519") return raw_public_key("ED25519", point->value);
    if (alg.curve == "Cv25519") return raw_public_key("X25519", point->value);
    return base::Error(ErrorCode::Unsupported,
                       "the card's key algorithm is not one Keyfence knows");
}

base::Status OpenPgpCard::verify(PinRef ref, const base::Pin& pin, const LockoutOptions& options) {
    KEYFENCE_TRY_ASSIGN(before, read_pin_status());
    KEYFENCE_TRY(check_pin_tries(
        m_data, ref, ref == PinRef::Pw3 ? before.pw3_tries : before.pw1_tries, options));
    const std::string name = pin_name(ref) + " of OpenPGP card " + m_data.serial_text();
    // OpenPGP card 3.4 §7.2.2 VERIFY: the PIN goes in an APDU built in locked memory.
    KEYFENCE_TRY_ASSIGN(r, m_channel->send({.ins = 0x20,
                                            .p2 = static_cast<std::uint8_t>(ref),
                                            .data = pin.bytes(),
                                            .expect_data = false,
                                            .sensitive = true}));
    if (r.ok()) return {};
    base::Error error = card_error(r.sw, "the card refused the " + name);
    if (error.code == ErrorCode::PinIncorrect || error.code == ErrorCode::PinLocked) {
        auto after = read_pin_status();
        const int left = after ? (ref == PinRef::Pw3 ? after->pw3_tries : after->pw1_tries)
                               : error.retries_left.value_or(-1);
        error.retries_left = left >= 0 ? std::optional<int>(left) : std::nullopt;
        if (left == 0) {
            error.code = ErrorCode::PinLocked;
            error.context = "the " + name + " was wrong and is now blocked";
            error.hint = openpgp_unblock_hint(ref);
        } else {
            error.context = "the " + name + " was wrong; one try was spent" +
                            (left > 0 ? ", " + std::to_string(left) + " left" : std::string());
            error.hint = left == 1 ? "only one try is left: Keyfence will refuse to spend it "
                                     "unless you pass --allow-last-pin-try"
                                   : "check the PIN; Keyfence never retries a PIN by itself";
        }
    }
    return error;
}

base::Result<std::vector<std::uint8_t>> OpenPgpCard::sign(std::span<const std::uint8_t> input) {
    KEYFENCE_TRY_ASSIGN(r, m_channel->send({.ins = 0x2A, .p1 = 0x9E, .p2 = 0x9A, .data = input}));
    if (!r.ok()) return card_error(r.sw, "the card did not sign");
    if (r.data.empty())
        return base::Error(ErrorCode::BadInput, "the card returned an empty signature");
    return std::move(r.data);
}

base::Result<base::SecureBuffer> OpenPgpCard::decipher_rsa(
    std::span<const std::uint8_t> cryptogram) {
    std::vector<std::uint8_t> input;
    input.reserve(cryptogram.size() + 1);
    input.push_back(0x00);  // padding indicator byte (§7.2.11)
    input.insert(input.end(), cryptogram.begin(), cryptogram.end());
    KEYFENCE_TRY_ASSIGN(r, m_channel->send({.ins = 0x2A, .p1 = 0x80, .p2 = 0x86, .data = input}));
    if (!r.ok()) {
        // One answer for every failure of the data (Bleichenbacher, Marvin).
        if (r.sw == 0x6982 || r.sw == 0x6983) return card_error(r.sw, "the card did not decrypt");
        return base::Error(ErrorCode::BadInput, "decryption failed",
                           "the message may not be encrypted to this key, or it is damaged");
    }
    base::SecureBuffer plain = to_secure(r.data);
    OPENSSL_cleanse(r.data.data(), r.data.size());
    return plain;
}

base::Result<base::SecureBuffer> OpenPgpCard::ecdh(std::span<const std::uint8_t> peer_point) {
    const auto point = encode_tlv(0x86, peer_point);
    const auto key = encode_tlv(0x7F49, point);
    const auto input = encode_tlv(0xA6, key);
    KEYFENCE_TRY_ASSIGN(r, m_channel->send({.ins = 0x2A, .p1 = 0x80, .p2 = 0x86, .data = input}));
    if (!r.ok()) return card_error(r.sw, "the card did not derive the shared secret");
    base::SecureBuffer shared = to_secure(r.data);
    OPENSSL_cleanse(r.data.data(), r.data.size());
    return shared;
}

}  // namespace keyfence::token::openpgp
