#pragma once
// One client connection of keyfenced: its socket, its peer, and the hand-over of a PIN or a
// confirmation from the connection's reader thread to the worker that asked for it.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/pin.hpp"
#include "base/result.hpp"
#include "engine/agent/socket.hpp"
#include "token/pin/pin_source.hpp"

namespace keyfence::engine::agent {

class Connection {
  public:
    Connection(UniqueFd fd, PeerCredentials peer, std::uint64_t id)
        : m_fd(std::move(fd)), m_peer(peer), m_id(id) {}
    Connection(const Connection&) = delete;  // shared through shared_ptr, one socket
    Connection& operator=(const Connection&) = delete;

    int fd() const noexcept { return m_fd.get(); }
    const PeerCredentials& peer() const noexcept { return m_peer; }
    std::uint64_t id() const noexcept { return m_id; }

    /// Sends one JSON frame; serialized with the other writers. Errors: Io (client gone).
    base::Status send(const nlohmann::json& message);

    /// Worker side: sends need-pin for request `id` and waits for the client's PIN frame.
    /// Errors: Cancelled (the client declined, disconnected, or did not answer in time).
    base::Result<base::Pin> ask_pin(std::uint64_t id, const token::PinRequest& prompt);
    /// Worker side: sends need-confirm and waits for the answer. Errors: Cancelled.
    base::Status ask_confirm(std::uint64_t id, const token::PinRequest& prompt);

    /// Reader side: a PIN frame arrived. False when no PIN was asked for (it is wiped).
    bool deliver_pin(base::Pin pin);
    /// Reader side: an answer (confirmed or cancelled) arrived. False when none was asked for.
    bool deliver_answer(bool confirmed, bool cancelled);
    /// Reader side: the client is gone; a waiting worker gives up.
    void hang_up();
    bool gone() const;

  private:
    enum class Waiting { Nothing, Pin, Answer };
    /// Sends need-pin or need-confirm and waits, holding `lock` on return; false when the
    /// client is gone or did not answer in time.
    bool ask(Waiting what, std::uint64_t id, const token::PinRequest& prompt,
             std::unique_lock<std::mutex>& lock);
    /// Waits for what was asked; false when the client is gone, declined or timed out.
    bool wait_answer(std::unique_lock<std::mutex>& lock);

    UniqueFd m_fd;
    PeerCredentials m_peer;
    std::uint64_t m_id;
    std::mutex m_write_mutex;
    mutable std::mutex m_mutex;
    std::condition_variable m_answered;
    Waiting m_waiting = Waiting::Nothing;
    std::optional<base::Pin> m_pin;
    std::optional<bool> m_confirmed;
    bool m_gone = false;
};

/// The agent engine's PinSource: asks the client of the job being run.
class ClientPinSource final : public token::PinSource {
  public:
    void route_to(Connection* connection, std::uint64_t id) noexcept {
        m_connection = connection;
        m_id = id;
    }
    base::Result<base::Pin> ask(const token::PinRequest& request) override;
    void use_pin_pad(const token::PinRequest& request) override;
    base::Status confirm(const token::PinRequest& request) override;

  private:
    Connection* m_connection = nullptr;
    std::uint64_t m_id = 0;
};

}  // namespace keyfence::engine::agent
