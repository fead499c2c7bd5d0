#pragma once
// The agent's queue: jobs are taken round-robin across clients (one from each client with work,
// in turn), so one busy client cannot starve the others; control jobs (lock, status) go first.
// A client that disconnects has its queued jobs removed. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

namespace keyfence::engine::agent {

template <class Job>
class FairQueue {
  public:
    explicit FairQueue(std::size_t max_per_client) : m_max_per_client(max_per_client) {}

    /// Queues `job` for `client`; false when that client already has its maximum queued.
    bool push(std::uint64_t client, Job job, bool control = false) {
        {
            std::lock_guard lock(m_mutex);
            if (control) {
                m_control.push_back(std::move(job));
            } else {
                auto& queue = m_queues[client];
                if (queue.size() >= m_max_per_client) return false;
                if (queue.empty()) m_ring.push_back(client);
                queue.push_back(std::move(job));
            }
        }
        m_ready.notify_one();
        return true;
    }

    /// The next job, waiting up to `timeout`; nothing on timeout or after stop().
    std::optional<Job> pop(std::chrono::milliseconds timeout) {
        std::unique_lock lock(m_mutex);
        m_ready.wait_for(lock, timeout,
                         [&] { return m_stopped || !m_control.empty() || !m_ring.empty(); });
        if (m_stopped) return std::nullopt;
        if (!m_control.empty()) {
            Job job = std::move(m_control.front());
            m_control.pop_front();
            return job;
        }
        if (m_ring.empty()) return std::nullopt;
        const std::uint64_t client = m_ring.front();
        m_ring.pop_front();
        auto it = m_queues.find(client);
        Job job = std::move(it->second.front());
        it->second.pop_front();
        if (it->second.empty()) {
            m_queues.erase(it);
        } else {
            m_ring.push_back(client);  // its next job waits for every other client's turn
        }
        return job;
    }

    /// Removes `client`'s queued jobs; returns how many.
    std::size_t cancel(std::uint64_t client) {
        std::lock_guard lock(m_mutex);
        auto it = m_queues.find(client);
        if (it == m_queues.end()) return 0;
        const std::size_t n = it->second.size();
        m_queues.erase(it);
        std::erase(m_ring, client);
        return n;
    }

    std::size_t size() const {
        std::lock_guard lock(m_mutex);
        std::size_t n = m_control.size();
        for (const auto& [client, queue] : m_queues) n += queue.size();
        return n;
    }

    void stop() {
        {
            std::lock_guard lock(m_mutex);
            m_stopped = true;
        }
        m_ready.notify_all();
    }

  private:
    const std::size_t m_max_per_client;
    mutable std::mutex m_mutex;
    std::condition_variable m_ready;
    std::deque<Job> m_control;
    std::map<std::uint64_t, std::deque<Job>> m_queues;
    std::deque<std::uint64_t> m_ring;
    bool m_stopped = false;
};

}  // namespace keyfence::engine::agent
