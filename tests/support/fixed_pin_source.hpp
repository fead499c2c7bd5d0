#pragma once
// A PinSource for in-process tests: answers with a fixed PIN and records each request, so a
// test can assert how often a PIN was asked for and what the prompt showed.

#include <string>
#include <vector>

#include "token/pin/pin_source.hpp"

namespace keyfence::test {

class FixedPinSource final : public token::PinSource {
  public:
    explicit FixedPinSource(std::string pin) : m_pin(std::move(pin)) {}
    base::Result<base::Pin> ask(const token::PinRequest& request) override {
        requests.push_back(request);
        base::Pin pin;
        for (char c : m_pin) pin.push_back(static_cast<std::uint8_t>(c));
        return pin;
    }
    void use_pin_pad(const token::PinRequest& request) override { requests.push_back(request); }

    std::vector<token::PinRequest> requests;

  private:
    std::string m_pin;
};

}  // namespace keyfence::test
