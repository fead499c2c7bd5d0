#pragma once
// Hashing and writing on a second thread for the streaming signer: the content is copied into
// 1 MiB buffers that a worker hashes and hands on to the output in order, so that hashing
// (about a third of the CPU time of signing a large message; SHA-256 runs near 2 GB/s) and
// writing overlap reading, parsing and canonicalising on the other core. Memory: at most six
// buffers.

#include <openssl/evp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {

class BackgroundHasher {
  public:
    /// Receives each buffer after it was hashed, on the worker thread; false stops the writing.
    using Sink = std::function<bool(std::string_view)>;
    /// Computes each of `mds` over the same bytes and hands them on to `sink` (which only the
    /// worker touches until final() returned). Throws std::system_error when no thread can be
    /// started, std::bad_alloc as Hasher.
    BackgroundHasher(const std::vector<const EVP_MD*>& mds, Sink sink);
    BackgroundHasher(const BackgroundHasher&) = delete;  // owns a thread
    BackgroundHasher& operator=(const BackgroundHasher&) = delete;
    ~BackgroundHasher();

    /// Queues `bytes` (copied); waits only when the worker is four buffers behind. Not
    /// thread-safe: one producer.
    void update(std::string_view bytes);
    /// Waits for the worker and returns the digests, in the order of `mds`. Call once.
    std::vector<std::vector<std::uint8_t>> final();
    /// Instead of final(): waits for the worker and hands over its hashers, unfinished, in the
    /// order of `mds` (a caller that hashes more after the content). Call once.
    std::vector<Hasher> finish();
    /// After final(): whether `sink` refused a buffer (the rest was not handed on).
    bool sink_failed() const noexcept { return m_sink_failed; }

  private:
    static constexpr std::size_t k_block = 1 << 20;
    static constexpr std::size_t k_queue = 4;
    void hand_over();
    void stop() noexcept;
    void run();

    std::vector<Hasher> m_hashers;  ///< touched by the worker only, until it ended
    Sink m_sink;
    bool m_sink_failed = false;  ///< likewise
    std::string m_filling;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<std::string> m_full;
    std::vector<std::string> m_free;
    bool m_done = false;
    std::thread m_worker;
};

}  // namespace keyfence::mail::smime
