#pragma once
// The other side of an ECDH test: an ephemeral key on the token's curve, its uncompressed point
// (what the token receives) and the shared secret OpenSSL computes with the token's public key
// (what the token must return).

#include <openssl/evp.h>

#include <cstdint>
#include <vector>

#include "base/handles.hpp"

namespace keyfence::test {

struct EcdhPeer {
    std::vector<std::uint8_t> point;
    std::vector<std::uint8_t> expected_secret;
};

/// `token_public_key` is an EC key; the ephemeral key uses `curve` ("P-256", "P-384").
inline EcdhPeer ecdh_peer(EVP_PKEY* token_public_key, const char* curve = "P-256") {
    base::EvpPkeyPtr eph(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    EcdhPeer peer;
    unsigned char point[133];
    size_t point_len = 0;
    EVP_PKEY_get_octet_string_param(eph.get(), "encoded-pub-key", point, sizeof point, &point_len);
    peer.point.assign(point, point + point_len);
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(eph.get(), nullptr));
    EVP_PKEY_derive_init(ctx.get());
    EVP_PKEY_derive_set_peer(ctx.get(), token_public_key);
    size_t len = 0;
    EVP_PKEY_derive(ctx.get(), nullptr, &len);
    peer.expected_secret.resize(len);
    EVP_PKEY_derive(ctx.get(), peer.expected_secret.data(), &len);
    peer.expected_secret.resize(len);
    return peer;
}

}  // namespace keyfence::test
