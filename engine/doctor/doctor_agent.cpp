// keyfence doctor: the agent (keyfenced).

#include "engine/agent/client.hpp"
#include "engine/doctor/doctor.hpp"

namespace keyfence::engine::doctor {

void check_agent(std::vector<Finding>& out) {
    auto path = agent::agent_socket_path();
    if (!path) {
        out.push_back({"agent", Severity::Info,
                       "no agent: " + path.error().message() + "; every command works in-process",
                       ""});
        return;
    }
    auto client = agent::AgentClient::connect(*path);
    if (!client) {
        out.push_back({"agent", Severity::Problem,
                       "the agent socket " + *path + " is not used: " + client.error().message(),
                       client.error().hint});
        return;
    }
    if (!*client) {
        out.push_back({"agent", Severity::Info,
                       "the agent (keyfenced) is not running (socket " + *path +
                           "); every command works in-process",
                       "for PIN sessions and one queue per token: systemctl --user enable --now "
                       "keyfenced.socket"});
        return;
    }
    agent::Request request;
    request.op = agent::RequestOp::Status;
    auto status = (*client)->call(request, nullptr);
    if (!status) {
        out.push_back({"agent", Severity::Problem,
                       "the agent on " + *path + " did not answer: " + status.error().message(),
                       "restart it: systemctl --user restart keyfenced"});
        return;
    }
    const auto& sessions = status->value("sessions", nlohmann::json::array());
    std::string text = "the agent (keyfenced, pid " + std::to_string(status->value("pid", 0)) +
                       ") is running on " + *path + ": " + std::to_string(sessions.size()) +
                       " PIN session" + (sessions.size() == 1 ? "" : "s") + " open";
    for (const auto& s : sessions) {
        text += "; token '" + s.value("token_label", "") + "' (serial " +
                s.value("token_serial", "") + "): " + std::to_string(s.value("operations", 0)) +
                " of " + std::to_string(s.value("max_operations", 0)) + " operations, " +
                std::to_string(s.value("seconds_left", 0)) + " s left";
    }
    out.push_back({"agent", Severity::Ok, text,
                   sessions.empty() ? "" : "'keyfence lock' ends the sessions now"});
}

}  // namespace keyfence::engine::doctor
