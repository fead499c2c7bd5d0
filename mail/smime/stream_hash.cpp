#include "mail/smime/stream_hash.hpp"

#include <algorithm>

namespace keyfence::mail::smime {

BackgroundHasher::BackgroundHasher(const std::vector<const EVP_MD*>& mds, Sink sink)
    : m_sink(std::move(sink)) {
    for (const EVP_MD* md : mds) m_hashers.emplace_back(md);
    m_filling.reserve(k_block);
    m_worker = std::thread([this] { run(); });
}

BackgroundHasher::~BackgroundHasher() {
    stop();
}

void BackgroundHasher::stop() noexcept {
    {
        std::lock_guard lock(m_mutex);
        m_done = true;
    }
    m_changed.notify_all();
    if (m_worker.joinable()) m_worker.join();
}

void BackgroundHasher::update(std::string_view bytes) {
    while (!bytes.empty()) {
        const std::size_t take = std::min(bytes.size(), k_block - m_filling.size());
        m_filling.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (m_filling.size() == k_block) hand_over();
    }
}

void BackgroundHasher::hand_over() {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return m_full.size() < k_queue; });
    m_full.push_back(std::move(m_filling));
    if (m_free.empty()) {
        m_filling = std::string();
    } else {
        m_filling = std::move(m_free.back());
        m_free.pop_back();
    }
    lock.unlock();
    m_changed.notify_all();
    m_filling.clear();
    m_filling.reserve(k_block);
}

void BackgroundHasher::run() {
    for (;;) {
        std::string buffer;
        {
            std::unique_lock lock(m_mutex);
            m_changed.wait(lock, [this] { return !m_full.empty() || m_done; });
            if (m_full.empty()) return;  // done, and everything hashed
            buffer = std::move(m_full.front());
            m_full.pop_front();
        }
        m_changed.notify_all();
        for (auto& hasher : m_hashers) hasher.update(buffer);
        // No exception may end the thread (std::terminate): a throwing sink failed.
        try {
            if (!m_sink_failed && m_sink && !m_sink(buffer)) m_sink_failed = true;
        } catch (...) {
            m_sink_failed = true;
        }
        {
            std::lock_guard lock(m_mutex);
            m_free.push_back(std::move(buffer));
        }
    }
}

std::vector<Hasher> BackgroundHasher::finish() {
    if (!m_filling.empty()) hand_over();
    stop();  // the worker drains the queue before it ends
    return std::move(m_hashers);
}

std::vector<std::vector<std::uint8_t>> BackgroundHasher::final() {
    std::vector<std::vector<std::uint8_t>> digests;
    for (auto& hasher : finish()) digests.push_back(hasher.final());
    return digests;
}

}  // namespace keyfence::mail::smime
