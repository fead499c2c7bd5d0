#pragma once
// SecureBuffer: bytes on OpenSSL's secure heap (locked pages, guard pages, excluded from core
// dumps), cleansed with OPENSSL_secure_clear_free. For PINs and other short secrets.

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"

namespace keyfence::base {

/// Initializes OpenSSL's secure heap once per process. Call before the first SecureBuffer.
/// Returns an error when the heap cannot be locked (RLIMIT_MEMLOCK too small): the caller
/// decides whether to stop. Thread-safe; later calls are no-ops.
Status init_secure_heap();

/// A fixed-capacity byte buffer on the secure heap. Move-only: a copy would be a second place
/// the secret lives. Not thread-safe.
class SecureBuffer {
  public:
    /// Allocates `capacity` bytes, zeroed. Throws std::bad_alloc when the heap is exhausted.
    explicit SecureBuffer(std::size_t capacity);
    ~SecureBuffer();

    SecureBuffer(SecureBuffer&& other) noexcept;
    SecureBuffer& operator=(SecureBuffer&& other) noexcept;
    SecureBuffer(const SecureBuffer&) = delete;  // a copy is a second secret
    SecureBuffer& operator=(const SecureBuffer&) = delete;

    /// Appends one byte; false when full.
    bool push_back(std::uint8_t byte) noexcept;
    /// Removes the last byte (cleansing it); no-op when empty.
    void pop_back() noexcept;
    /// Cleanses the content and sets the size to zero.
    void clear() noexcept;

    std::size_t size() const noexcept { return m_size; }
    std::size_t capacity() const noexcept { return m_capacity; }
    bool empty() const noexcept { return m_size == 0; }
    std::span<const std::uint8_t> bytes() const noexcept { return {m_data, m_size}; }
    /// True when the memory came from the locked secure heap (not a fallback allocation).
    bool is_locked() const noexcept;

  private:
    std::uint8_t* m_data = nullptr;
    std::size_t m_size = 0;
    std::size_t m_capacity = 0;
};

}  // namespace keyfence::base
