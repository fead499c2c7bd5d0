#pragma once
// APDUs over a PC/SC card connection.

#include "token/openpgp/apdu.hpp"
#include "token/pcsc/context.hpp"

namespace keyfence::token::openpgp {

class PcscTransport final : public Transport {
  public:
    explicit PcscTransport(pcsc::CardConnection& card) : m_card(&card) {}
    base::Result<std::vector<std::uint8_t>> transmit(std::span<const std::uint8_t> apdu) override {
        return m_card->transmit(apdu);
    }

  private:
    pcsc::CardConnection* m_card;
};

}  // namespace keyfence::token::openpgp
