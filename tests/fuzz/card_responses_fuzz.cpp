// libFuzzer: Keyfence's OpenPGP card code fed arbitrary card answers. The input is a script of
// responses (2-byte big-endian length, then the bytes); each APDU Keyfence sends gets the next
// one, an exhausted script answers nothing (a removed card). Every step a real session takes
// runs: SELECT and DO 6E, PIN status, signature counter, public keys, VERIFY, PSO:CDS,
// DECIPHER, ECDH. Any crash, leak or UB (ASan/UBSan) is a bug; errors are the expected outcome.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "token/openpgp/application_data.hpp"
#include "token/openpgp/openpgp_card.hpp"
#include "token/openpgp/tlv.hpp"

namespace {
using namespace keyfence::token::openpgp;

class ScriptedCard final : public Transport {
  public:
    ScriptedCard(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
    keyfence::base::Result<std::vector<std::uint8_t>> transmit(
        std::span<const std::uint8_t>) override {
        if (m_pos + 2 > m_size) return std::vector<std::uint8_t>{};
        const std::size_t n = static_cast<std::size_t>(m_data[m_pos] << 8 | m_data[m_pos + 1]);
        m_pos += 2;
        const std::size_t take = n < m_size - m_pos ? n : m_size - m_pos;
        std::vector<std::uint8_t> answer(m_data + m_pos, m_data + m_pos + take);
        m_pos += take;
        return answer;
    }

  private:
    const std::uint8_t* m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    (void)parse_tlvs(bytes);
    (void)find_tlv(bytes, 0xC4);
    (void)parse_application_data(bytes);
    (void)parse_signature_counter(bytes);

    ScriptedCard transport(data, size);
    Channel channel(transport);
    auto card = OpenPgpCard::select(channel);
    if (!card) return 0;
    (void)card->read_pin_status();
    (void)card->read_signature_counter();
    for (KeySlot slot : {KeySlot::Signature, KeySlot::Decryption, KeySlot::Authentication}) {
        (void)card->public_key(slot);
    }
    keyfence::base::Pin pin;
    for (char c : {'1', '2', '3', '4', '5', '6'}) pin.push_back(static_cast<std::uint8_t>(c));
    (void)card->verify(PinRef::SignPw1, pin, {.allow_last_pin_try = true});
    const std::vector<std::uint8_t> digest(32, 0xAB);
    (void)card->sign(digest);
    (void)card->decipher_rsa(std::vector<std::uint8_t>(256, 1));
    (void)card->ecdh(std::vector<std::uint8_t>(65, 4));
    return 0;
}
