#include "engine/agent/client.hpp"

#include <unistd.h>

#include <cstdio>

#include "base/logger.hpp"
#include "engine/agent/prompt_json.hpp"

namespace keyfence::engine::agent {
namespace {
using nlohmann::json;

base::Error agent_gone() {
    return base::Error(base::ErrorCode::Io,
                       "the agent (keyfenced) stopped during the operation; nothing was written",
                       "start it again (systemctl --user start keyfenced.socket) and retry, or "
                       "pass --no-agent");
}
}  // namespace

base::Result<std::optional<AgentClient>> AgentClient::connect() {
    auto path = agent_socket_path();
    if (!path) return std::optional<AgentClient>();
    return connect(*path);
}

base::Result<std::optional<AgentClient>> AgentClient::connect(const std::string& path) {
    const std::string dir = path.substr(0, path.rfind('/'));
    if (auto checked = check_private_directory(dir, false); !checked) {
        if (checked.error().code == base::ErrorCode::TokenAbsent) {
            return std::optional<AgentClient>();
        }
        return std::move(checked).error();
    }
    auto fd = connect_to(path);
    if (!fd) {
        if (fd.error().code == base::ErrorCode::TokenAbsent) return std::optional<AgentClient>();
        return std::move(fd).error();
    }
    // Never hand a PIN to a process of another user, whatever the socket's directory says.
    KEYFENCE_TRY_ASSIGN(peer, peer_credentials(fd->get()));
    if (peer.uid != ::getuid()) {
        return base::Error(base::ErrorCode::PolicyDenied,
                           "the process on " + path + " runs as uid " + std::to_string(peer.uid) +
                               ", not as you; it was not used",
                           "find out who runs it; pass --no-agent meanwhile");
    }
    return std::optional<AgentClient>(AgentClient(std::move(*fd)));
}

base::Result<json> AgentClient::read_message() {
    std::array<std::uint8_t, 5> header{};
    auto got = recv_exact(m_fd.get(), header);
    if (!got || !*got) return agent_gone();
    const std::uint32_t length = frame_length(std::span(header).first<4>());
    if (header[4] != k_kind_json || length == 0 || length > k_max_json_frame) {
        return base::Error(base::ErrorCode::Io, "the agent sent a malformed frame");
    }
    std::vector<std::uint8_t> payload(length - 1);
    auto body = recv_exact(m_fd.get(), payload);
    if (!body || !*body) return agent_gone();
    json message = json::parse(payload.begin(), payload.end(), nullptr, false);
    if (!message.is_object()) return base::Error(base::ErrorCode::Io, "the agent sent no JSON");
    return message;
}

base::Status AgentClient::answer_pin(std::uint64_t id, const json& message,
                                     token::PinSource* pins) {
    const token::PinRequest prompt = prompt_from_json(message.value("prompt", json::object()));
    Request answer;
    answer.id = id;
    answer.op = RequestOp::Answer;
    if (message.value("type", "") == "need-confirm") {
        answer.confirmed = pins != nullptr && pins->confirm(prompt).has_value();
        return send_all(m_fd.get(), json_frame(request_json(answer)));
    }
    if (pins != nullptr) {
        if (auto pin = pins->ask(prompt)) {
            return send_all(m_fd.get(), frame(k_kind_pin, pin->bytes()));
        } else if (pin.error().code != base::ErrorCode::Cancelled) {
            base::log_warn(pin.error().message());
        }
    }
    answer.cancelled = true;
    return send_all(m_fd.get(), json_frame(request_json(answer)));
}

base::Result<json> AgentClient::call(Request request, token::PinSource* pins) {
    try {
        return exchange(std::move(request), pins);
    } catch (const json::exception&) {  // a field of an unexpected type from the agent
        return base::Error(base::ErrorCode::Io, "the agent sent a malformed reply");
    }
}

base::Result<json> AgentClient::exchange(Request request, token::PinSource* pins) {
    request.id = m_next_id++;
    if (!send_all(m_fd.get(), json_frame(request_json(request)))) return agent_gone();
    for (;;) {
        KEYFENCE_TRY_ASSIGN(message, read_message());
        const std::string type = message.value("type", "");
        const auto id = message.value("id", std::uint64_t{0});
        if (type == "need-pin" || type == "need-confirm") {
            if (!answer_pin(request.id, message, pins)) return agent_gone();
            continue;
        }
        if (type == "notice") {
            std::fprintf(stderr, "%s", message.value("text", "").c_str());
            continue;
        }
        if (type != "result" || (id != request.id && id != 0)) continue;
        if (message.value("ok", false) || message.value("fallback", false)) return message;
        return error_from_json(message.value("error", json::object()));
    }
}

}  // namespace keyfence::engine::agent
