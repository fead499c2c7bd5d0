// Shared helpers for the card unit tests: send APDUs as hex or fields, follow 61xx,
// verify passwords, and rebuild public keys from 7F49 for OpenSSL verification.
#pragma once

#include "card.hpp"
#include "card_key.hpp"

#include <gtest/gtest.h>

#include <string>

namespace keyfence::vcard::test {

struct Reply {
    Bytes data;
    std::uint16_t sw = 0;
};

/// Splits data || SW.
Reply split_reply(const Bytes& raw);

/// Public key from a 7F49 template (as GENERATE returns it). Null on failure.
EvpPkeyPtr public_key_from_template(ByteView tmpl, const AlgorithmAttributes& attrs);

/// OpenSSL verification of what the card signed: RSA PKCS#1 over a DigestInfo input,
/// ECDSA r||s over a raw hash, Ed25519 over the message.
bool verify_card_signature(EVP_PKEY* pub, const AlgorithmAttributes& attrs, ByteView input,
                           ByteView signature);

/// DigestInfo for SHA-256 of `message` (what gpg/OpenSC send for RSA PSO:CDS).
Bytes sha256_digest_info(ByteView message);
Bytes sha256(ByteView message);

class CardTest : public ::testing::Test {
  public:  // helpers are shared with free helper functions in the tests
    CardTest() : card(CardState::factory(0x12345678)) {}

    /// Sends a raw APDU given in hex ("00 A4 04 00 ...").
    Reply send_hex(const std::string& hex);
    /// Sends a command built from fields; Le 0 = absent. Uses extended form if needed.
    Reply send(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data = {},
               std::size_t le = 0, std::uint8_t cla = 0x00);
    /// Like send() but follows 61xx with GET RESPONSE and concatenates the data.
    Reply send_all(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data = {},
                   std::size_t le = 256);

    void verify_ok(std::uint8_t reference, const std::string& pin);
    /// Sets algorithm attributes for `slot` (verifies PW3 first).
    void set_attributes(KeySlot slot, const AlgorithmAttributes& attrs);
    /// Generates a key in `slot` (verifies PW3) and returns the public key.
    EvpPkeyPtr generate(KeySlot slot);

    Card card;
};

Bytes bytes_of(const std::string& s);

}  // namespace keyfence::vcard::test
