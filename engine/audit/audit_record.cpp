#include "engine/audit/audit_record.hpp"

#include <unistd.h>

#include <climits>

#include "base/logger.hpp"

namespace keyfence::engine::audit {

Caller Caller::self() {
    Caller c;
    c.pid = static_cast<long>(::getpid());
    c.uid = static_cast<unsigned>(::getuid());
    char buffer[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer);
    if (n > 0) c.executable.assign(buffer, static_cast<std::size_t>(n));
    return c;
}

std::string_view result_name(OutcomeKind result) {
    switch (result) {
        case OutcomeKind::Success:
            return "success";
        case OutcomeKind::Refused:
            return "refused";
        case OutcomeKind::WrongPin:
            return "wrong_pin";
        case OutcomeKind::Cancelled:
            return "cancelled";
        case OutcomeKind::Error:
            return "error";
    }
    return "error";
}

Outcome Outcome::from_error(const base::Error& error, std::string rule) {
    Outcome o;
    switch (error.code) {
        case base::ErrorCode::PolicyDenied:
            o.result = OutcomeKind::Refused;
            break;
        case base::ErrorCode::PinIncorrect:
            o.result = OutcomeKind::WrongPin;
            break;
        case base::ErrorCode::Cancelled:
            o.result = OutcomeKind::Cancelled;
            break;
        default:
            o.result = OutcomeKind::Error;
            break;
    }
    o.rule = std::move(rule);
    o.error_code = std::string(base::code_name(error.code));
    o.message = base::redact(error.message());
    return o;
}

nlohmann::json to_json(const AuditEvent& e) {
    nlohmann::json outcome = {{"result", result_name(e.outcome.result)}};
    if (!e.outcome.rule.empty()) outcome["rule"] = e.outcome.rule;
    if (!e.outcome.error_code.empty()) outcome["error"] = e.outcome.error_code;
    if (!e.outcome.message.empty()) outcome["message"] = e.outcome.message;
    nlohmann::json content = nlohmann::json::object();
    if (!e.content_sha256.empty()) content["sha256"] = e.content_sha256;
    if (!e.hash.empty()) content["hash"] = e.hash;
    if (!e.digest.empty()) content["digest"] = e.digest;
    nlohmann::json token = {{"label", e.token_label},
                            {"manufacturer", e.token_manufacturer},
                            {"model", e.token_model},
                            {"serial", e.token_serial}};
    if (e.signature_counter) token["signature_counter"] = *e.signature_counter;
    return {
        {"operation", e.operation},
        {"protocol", e.protocol},
        {"key",
         {{"uri", e.key_uri}, {"label", e.key_label}, {"public_key_sha256", e.key_fingerprint}}},
        {"token", std::move(token)},
        {"content", std::move(content)},
        {"message_id",
         e.message_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.message_id)},
        {"process",
         {{"pid", e.caller.pid}, {"executable", e.caller.executable}, {"uid", e.caller.uid}}},
        {"outcome", std::move(outcome)},
    };
}

}  // namespace keyfence::engine::audit
