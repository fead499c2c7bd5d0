#include "base/secure_buffer.hpp"

#include <openssl/crypto.h>

#include <mutex>
#include <new>
#include <utility>

namespace keyfence::base {
namespace {
// 128 KiB holds PINs and the pinentry connection's buffers; the minimum allocation unit of 32
// bytes keeps the heap's bookkeeping small. Both must be powers of two.
constexpr std::size_t k_secure_heap_size = 128 * 1024;
constexpr int k_secure_heap_min_unit = 32;
}  // namespace

Status init_secure_heap() {
    static std::once_flag once;
    static int rc = 0;
    std::call_once(once, [] {
        rc = CRYPTO_secure_malloc_initialized() != 0
                 ? 1
                 : CRYPTO_secure_malloc_init(k_secure_heap_size, k_secure_heap_min_unit);
    });
    if (rc == 0) {
        return Error(ErrorCode::Internal, "could not create the secure memory heap for PINs");
    }
    if (rc == 2) {
        // CRYPTO_secure_malloc_init returns 2 when the heap exists but mlock failed: PINs are
        // still kept apart, guarded and wiped, but may be swapped out.
        return Error(ErrorCode::Internal, "PIN memory could not be locked into RAM",
                     "raise the locked-memory limit (ulimit -l) to at least 256 KiB");
    }
    return {};
}

SecureBuffer::SecureBuffer(std::size_t capacity) : m_capacity(capacity) {
    m_data = static_cast<std::uint8_t*>(OPENSSL_secure_zalloc(capacity == 0 ? 1 : capacity));
    if (m_data == nullptr) throw std::bad_alloc();
}

SecureBuffer::~SecureBuffer() {
    if (m_data != nullptr) OPENSSL_secure_clear_free(m_data, m_capacity == 0 ? 1 : m_capacity);
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)),
      m_size(std::exchange(other.m_size, 0)),
      m_capacity(std::exchange(other.m_capacity, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
    if (this != &other) {
        if (m_data != nullptr) OPENSSL_secure_clear_free(m_data, m_capacity == 0 ? 1 : m_capacity);
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
        m_capacity = std::exchange(other.m_capacity, 0);
    }
    return *this;
}

bool SecureBuffer::push_back(std::uint8_t byte) noexcept {
    if (m_size >= m_capacity) return false;
    m_data[m_size++] = byte;
    return true;
}

void SecureBuffer::pop_back() noexcept {
    if (m_size == 0) return;
    OPENSSL_cleanse(m_data + --m_size, 1);
}

void SecureBuffer::clear() noexcept {
    if (m_data != nullptr) OPENSSL_cleanse(m_data, m_capacity);
    m_size = 0;
}

bool SecureBuffer::is_locked() const noexcept {
    return m_data != nullptr && CRYPTO_secure_allocated(m_data) == 1;
}

}  // namespace keyfence::base
