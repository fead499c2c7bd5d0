#pragma once
// Pin: a PIN in locked, zeroized memory. It has no string conversion and no operator<<; the
// only way to read it is bytes(), a span handed straight to C_Login or VERIFY.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "base/secure_buffer.hpp"

namespace keyfence::base {

class Pin {
  public:
    /// Longest PIN accepted. OpenPGP cards allow up to 127 bytes for PW1/PW3 (OpenPGP card 3.4
    /// §4.3); PKCS#11 tokens report their own ulMaxPinLen, which callers check.
    static constexpr std::size_t k_max_length = 256;

    Pin() : m_buffer(k_max_length) {}
    explicit Pin(SecureBuffer buffer) : m_buffer(std::move(buffer)) {}

    Pin(Pin&&) noexcept = default;
    Pin& operator=(Pin&&) noexcept = default;
    Pin(const Pin&) = delete;  // one copy of a PIN is one too many already
    Pin& operator=(const Pin&) = delete;

    /// Appends one byte; false when the PIN is at its maximum length.
    bool push_back(std::uint8_t byte) noexcept { return m_buffer.push_back(byte); }
    void pop_back() noexcept { m_buffer.pop_back(); }

    std::span<const std::uint8_t> bytes() const noexcept { return m_buffer.bytes(); }
    std::size_t size() const noexcept { return m_buffer.size(); }
    bool empty() const noexcept { return m_buffer.empty(); }
    bool is_locked() const noexcept { return m_buffer.is_locked(); }

  private:
    SecureBuffer m_buffer;
};

/// True for types that hold secrets and so must never reach a log or a stream.
template <class T>
inline constexpr bool is_secret_v = std::is_same_v<std::remove_cvref_t<T>, Pin> ||
                                    std::is_same_v<std::remove_cvref_t<T>, SecureBuffer>;

}  // namespace keyfence::base
