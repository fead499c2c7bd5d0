#include "engine/agent/connection.hpp"

#include <chrono>

#include "engine/agent/prompt_json.hpp"
#include "engine/agent/protocol.hpp"

namespace keyfence::engine::agent {
namespace {
// As long as a person may take to find a token and type a PIN; pinentry's own timeout is
// shorter by default.
constexpr auto k_answer_timeout = std::chrono::minutes(5);

base::Error client_cancelled() {
    return base::Error(base::ErrorCode::Cancelled,
                       "the client did not give the PIN or confirmation (it declined, went "
                       "away or did not answer); nothing was sent to the token");
}
}  // namespace

base::Status Connection::send(const nlohmann::json& message) {
    const auto bytes = json_frame(message);
    std::lock_guard lock(m_write_mutex);
    return send_all(m_fd.get(), bytes);
}

bool Connection::wait_answer(std::unique_lock<std::mutex>& lock) {
    const bool answered = m_answered.wait_for(lock, k_answer_timeout, [&] {
        return m_gone || m_pin.has_value() || m_confirmed.has_value();
    });
    m_waiting = Waiting::Nothing;
    return answered && !m_gone;
}

bool Connection::ask(Waiting what, std::uint64_t id, const token::PinRequest& prompt,
                     std::unique_lock<std::mutex>& lock) {
    {
        std::lock_guard guard(m_mutex);
        m_waiting = what;
        m_pin.reset();
        m_confirmed.reset();
    }
    const char* type = what == Waiting::Pin ? "need-pin" : "need-confirm";
    if (!send({{"type", type}, {"id", id}, {"prompt", prompt_json(prompt)}})) hang_up();
    lock = std::unique_lock(m_mutex);
    return wait_answer(lock);
}

base::Result<base::Pin> Connection::ask_pin(std::uint64_t id, const token::PinRequest& prompt) {
    std::unique_lock<std::mutex> lock;
    if (!ask(Waiting::Pin, id, prompt, lock) || !m_pin) return client_cancelled();
    base::Pin pin = std::move(*m_pin);
    m_pin.reset();
    return pin;
}

base::Status Connection::ask_confirm(std::uint64_t id, const token::PinRequest& prompt) {
    std::unique_lock<std::mutex> lock;
    if (!ask(Waiting::Answer, id, prompt, lock) || !m_confirmed || !*m_confirmed) {
        return token::confirmation_refused("the client did not confirm it");
    }
    return {};
}

bool Connection::deliver_pin(base::Pin pin) {
    {
        std::lock_guard lock(m_mutex);
        if (m_waiting != Waiting::Pin) return false;
        m_pin = std::move(pin);
    }
    m_answered.notify_all();
    return true;
}

bool Connection::deliver_answer(bool confirmed, bool cancelled) {
    {
        std::lock_guard lock(m_mutex);
        if (m_waiting == Waiting::Nothing) return false;
        // A cancelled PIN entry or a declined confirmation: no PIN, not confirmed.
        m_confirmed = confirmed && !cancelled && m_waiting == Waiting::Answer;
    }
    m_answered.notify_all();
    return true;
}

void Connection::hang_up() {
    {
        std::lock_guard lock(m_mutex);
        m_gone = true;
    }
    m_answered.notify_all();
}

bool Connection::gone() const {
    std::lock_guard lock(m_mutex);
    return m_gone;
}

base::Result<base::Pin> ClientPinSource::ask(const token::PinRequest& request) {
    if (m_connection == nullptr) return client_cancelled();
    return m_connection->ask_pin(m_id, request);
}

void ClientPinSource::use_pin_pad(const token::PinRequest& request) {
    if (m_connection == nullptr) return;
    (void)m_connection->send(
        {{"type", "notice"},
         {"id", m_id},
         {"text", request.description() + "Enter the PIN on the token's PIN pad.\n"}});
}

base::Status ClientPinSource::confirm(const token::PinRequest& request) {
    if (m_connection == nullptr) return token::confirmation_refused("no client to ask");
    return m_connection->ask_confirm(m_id, request);
}

}  // namespace keyfence::engine::agent
