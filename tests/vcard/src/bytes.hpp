// Byte strings, hex conversion and owned OpenSSL handles shared by the whole card.
#pragma once

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keyfence::vcard {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

/// Calls an OpenSSL free function; stateless so unique_ptr stays one pointer wide.
template <auto Fn>
struct CFree {
    template <class T>
    void operator()(T* p) const noexcept {
        Fn(p);
    }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, CFree<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, CFree<&EVP_PKEY_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, CFree<&BN_clear_free>>;

/// Lower-case hex of `data`, no separators.
std::string to_hex(ByteView data);

/// Parses hex (upper or lower case; spaces and ':' ignored). Empty optional on bad input.
std::optional<Bytes> from_hex(std::string_view text);

/// Appends `tail` to `out`.
void append(Bytes& out, ByteView tail);

/// Big-endian encoding of `value` in exactly `width` bytes.
Bytes be_bytes(std::uint64_t value, std::size_t width);

/// Cryptographically random bytes from OpenSSL's DRBG; throws std::runtime_error on failure.
Bytes random_bytes(std::size_t count);

/// Constant-time equality for secrets (different lengths compare unequal).
bool secure_equal(ByteView a, ByteView b);

/// Overwrites a buffer with zeros in a way the compiler keeps (OPENSSL_cleanse).
void cleanse(Bytes& secret);

}  // namespace keyfence::vcard
