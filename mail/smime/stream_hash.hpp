#pragma once
// Hashing on a second thread for the streaming signer: the content is copied into 1 MiB
// buffers that a worker hashes in order, so that hashing (about a third of the CPU time of
// signing a large message; SHA-256 runs near 2 GB/s) overlaps reading, canonicalising and
// writing on the other core. Memory: at most six buffers.

#include <openssl/evp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {

class BackgroundHasher {
  public:
    /// Computes each of `mds` over the same bytes. Throws std::system_error when no thread can
    /// be started, std::bad_alloc as Hasher.
    explicit BackgroundHasher(const std::vector<const EVP_MD*>& mds);
    BackgroundHasher(const BackgroundHasher&) = delete;  // owns a thread
    BackgroundHasher& operator=(const BackgroundHasher&) = delete;
    ~BackgroundHasher();

    /// Queues `bytes` (copied); waits only when the worker is four buffers behind. Not
    /// thread-safe: one producer.
    void update(std::string_view bytes);
    /// Waits for the worker and returns the digests, in the order of `mds`. Call once.
    std::vector<std::vector<std::uint8_t>> final();

  private:
    static constexpr std::size_t k_block = 1 << 20;
    static constexpr std::size_t k_queue = 4;
    void hand_over();
    void stop() noexcept;
    void run();

    std::vector<Hasher> m_hashers;  ///< touched by the worker only, until it ended
    std::string m_filling;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<std::string> m_full;
    std::vector<std::string> m_free;
    bool m_done = false;
    std::thread m_worker;
};

}  // namespace keyfence::mail::smime
