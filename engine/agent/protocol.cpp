#include "engine/agent/protocol.hpp"

#include <cstring>

#include "base/hex.hpp"

namespace keyfence::engine::agent {
namespace {
using nlohmann::json;

base::Error bad(std::string what) {
    return base::Error(base::ErrorCode::BadInput, "malformed agent request: " + std::move(what),
                       "see docs/agent-protocol.md");
}

// Reads optional fields with their type and size checked; the first problem is kept.
class Reader {
  public:
    explicit Reader(const json& object) : m_object(object) {}

    void string(const char* name, std::string& out, bool required = false) {
        const json* v = find(name, required);
        if (!v) return;
        if (!v->is_string()) return fail(std::string(name) + " must be a string");
        const auto& s = v->get_ref<const std::string&>();
        if (s.size() > k_max_string) return fail(std::string(name) + " is too long");
        out = s;
    }
    void boolean(const char* name, bool& out) {
        const json* v = find(name, false);
        if (!v) return;
        if (!v->is_boolean()) return fail(std::string(name) + " must be true or false");
        out = v->get<bool>();
    }
    void hex(const char* name, std::vector<std::uint8_t>& out, std::size_t max, bool required) {
        std::string text;
        string(name, text, required);
        if (!ok() || text.empty()) return;
        auto bytes = base::from_hex(text);
        if (!bytes) return fail(std::string(name) + " must be hex");
        if (bytes->size() > max) return fail(std::string(name) + " is too long");
        out = std::move(*bytes);
    }
    void strings(const char* name, std::vector<std::string>& out) {
        const json* v = find(name, false);
        if (!v) return;
        if (!v->is_array() || v->size() > k_max_summary_lines)
            return fail(std::string(name) + " must be a short array of strings");
        for (const auto& item : *v) {
            if (!item.is_string() || item.get_ref<const std::string&>().size() > k_max_string)
                return fail(std::string(name) + " must hold short strings");
            out.push_back(item.get<std::string>());
        }
    }
    void summary(std::vector<std::pair<std::string, std::string>>& out) {
        const json* v = find("summary", false);
        if (!v) return;
        if (!v->is_array() || v->size() > k_max_summary_lines)
            return fail("summary must be an array of at most 32 [label, value] pairs");
        for (const auto& line : *v) {
            if (!line.is_array() || line.size() != 2 || !line[0].is_string() ||
                !line[1].is_string() || line[0].get_ref<const std::string&>().size() > 256 ||
                line[1].get_ref<const std::string&>().size() > k_max_string) {
                return fail("summary lines must be [label, value] string pairs");
            }
            out.emplace_back(line[0].get<std::string>(), line[1].get<std::string>());
        }
    }
    const json* object(const char* name) {
        const json* v = find(name, false);
        if (v && !v->is_object()) {
            fail(std::string(name) + " must be an object");
            return nullptr;
        }
        return v;
    }
    void fail(std::string what) {
        if (!m_error) m_error = std::move(what);
    }
    bool ok() const { return !m_error; }
    const std::optional<std::string>& error() const { return m_error; }

  private:
    const json* find(const char* name, bool required) {
        if (!ok()) return nullptr;
        auto it = m_object.find(name);
        if (it == m_object.end()) {
            if (required) fail(std::string("missing ") + name);
            return nullptr;
        }
        return &*it;
    }
    const json& m_object;
    std::optional<std::string> m_error;
};

std::optional<RequestOp> op_from_name(const std::string& name) {
    for (RequestOp op : {RequestOp::Ping, RequestOp::Status, RequestOp::Lock, RequestOp::Sign,
                         RequestOp::Decrypt, RequestOp::Answer, RequestOp::PgpSession}) {
        if (request_op_name(op) == name) return op;
    }
    return std::nullopt;
}

bool one_of(const std::string& value, std::initializer_list<const char*> allowed) {
    for (const char* a : allowed)
        if (value == a) return true;
    return false;
}

void read_operation(Reader& r, Request& request) {
    r.string("key", request.key_uri, true);
    r.string("protocol", request.protocol);
    r.summary(request.summary);
    r.string("content_sha256", request.content_sha256);
    r.string("message_id", request.message_id);
    if (r.ok() && !one_of(request.protocol, {"raw", "s/mime", "openpgp"}))
        r.fail("protocol must be raw, s/mime or openpgp");
    if (const json* options = r.object("options")) {
        Reader o(*options);
        o.boolean("demo", request.options.demo);
        o.boolean("allow_last_pin_try", request.options.allow_last_pin_try);
        o.strings("modules", request.options.modules);
        o.boolean("no_p11_kit", request.options.no_p11_kit);
        if (!o.ok()) r.fail("options: " + *o.error());
    }
    if (request.op == RequestOp::Sign) {
        r.string("hash", request.hash);
        r.boolean("pss", request.pss);
        r.hex("digest", request.digest, 64, true);
        r.hex("content_digest", request.content_digest, 64, false);
        if (r.ok() && !one_of(request.hash, {"sha256", "sha384", "sha512"}))
            r.fail("hash must be sha256, sha384 or sha512");
        if (r.ok() && request.digest.empty()) r.fail("digest is empty");
    } else {
        r.string("mechanism", request.mechanism, true);
        r.hex("data", request.data, k_max_data_bytes, true);
        if (r.ok() &&
            !one_of(request.mechanism, {"rsa-pkcs1", "rsa-oaep-sha1", "rsa-oaep-sha256", "ecdh"}))
            r.fail("mechanism must be rsa-pkcs1, rsa-oaep-sha1, rsa-oaep-sha256 or ecdh");
        if (r.ok() && request.data.empty()) r.fail("data is empty");
    }
}
void read_pgp_session(Reader& r, Request& request) {
    r.string("action", request.action, true);
    r.string("homedir", request.homedir, true);
    r.string("token_serial", request.token_serial, true);
    r.string("token_label", request.token_label);
    r.string("module", request.module, true);
    if (r.ok() && !one_of(request.action, {"use", "open"})) r.fail("action must be use or open");
    if (r.ok() && (request.homedir.empty() || request.homedir.front() != '/'))
        r.fail("homedir must be an absolute path");
    if (r.ok() && (request.token_serial.empty() || request.module.empty()))
        r.fail("token_serial and module must not be empty");
}
}  // namespace

std::string_view request_op_name(RequestOp op) {
    switch (op) {
        case RequestOp::Ping:
            return "ping";
        case RequestOp::Status:
            return "status";
        case RequestOp::Lock:
            return "lock";
        case RequestOp::Sign:
            return "sign";
        case RequestOp::Decrypt:
            return "decrypt";
        case RequestOp::Answer:
            return "answer";
        case RequestOp::PgpSession:
            return "pgp-session";
    }
    return "ping";
}

base::Result<Request> parse_request(std::span<const std::uint8_t> payload) {
    json message = json::parse(payload.begin(), payload.end(), nullptr, false);
    if (message.is_discarded()) return bad("not JSON");
    if (!message.is_object()) return bad("not a JSON object");
    Request request;
    const auto v = message.find("v");
    if (v == message.end() || !v->is_number_integer() || v->get<std::int64_t>() != 1)
        return bad("\"v\" must be 1");
    const auto id = message.find("id");
    if (id == message.end() || !id->is_number_unsigned()) return bad("\"id\" must be a number");
    request.id = id->get<std::uint64_t>();
    Reader r(message);
    std::string op;
    r.string("op", op, true);
    if (!r.ok()) return bad(*r.error());
    auto parsed = op_from_name(op);
    if (!parsed) return bad("unknown op '" + op.substr(0, 32) + "'");
    request.op = *parsed;
    if (request.op == RequestOp::Sign || request.op == RequestOp::Decrypt) {
        read_operation(r, request);
    } else if (request.op == RequestOp::Answer) {
        r.boolean("confirmed", request.confirmed);
        r.boolean("cancelled", request.cancelled);
    } else if (request.op == RequestOp::PgpSession) {
        read_pgp_session(r, request);
    }
    if (!r.ok()) return bad(*r.error());
    return request;
}

json request_json(const Request& request) {
    json j = {{"v", k_protocol_version}, {"id", request.id}, {"op", request_op_name(request.op)}};
    if (request.op == RequestOp::Sign || request.op == RequestOp::Decrypt) {
        j["key"] = request.key_uri;
        j["protocol"] = request.protocol;
        json summary = json::array();
        for (const auto& [label, value] : request.summary) summary.push_back({label, value});
        j["summary"] = summary;
        j["content_sha256"] = request.content_sha256;
        j["message_id"] = request.message_id;
        j["options"] = {{"demo", request.options.demo},
                        {"allow_last_pin_try", request.options.allow_last_pin_try},
                        {"modules", request.options.modules},
                        {"no_p11_kit", request.options.no_p11_kit}};
    }
    if (request.op == RequestOp::Sign) {
        j["hash"] = request.hash;
        j["pss"] = request.pss;
        j["digest"] = base::to_hex(request.digest);
        if (!request.content_digest.empty())
            j["content_digest"] = base::to_hex(request.content_digest);
    } else if (request.op == RequestOp::Decrypt) {
        j["mechanism"] = request.mechanism;
        j["data"] = base::to_hex(request.data);
    } else if (request.op == RequestOp::Answer) {
        j["confirmed"] = request.confirmed;
        j["cancelled"] = request.cancelled;
    } else if (request.op == RequestOp::PgpSession) {
        j["action"] = request.action;
        j["homedir"] = request.homedir;
        j["token_serial"] = request.token_serial;
        j["token_label"] = request.token_label;
        j["module"] = request.module;
    }
    return j;
}

std::vector<std::uint8_t> frame(std::uint8_t kind, std::span<const std::uint8_t> payload) {
    const auto n = static_cast<std::uint32_t>(payload.size() + 1);
    // Sized once and filled in place (g++ 12 -O3 warns falsely about inserting into a vector
    // built from an initializer list, -Warray-bounds).
    std::vector<std::uint8_t> out(5 + payload.size());
    out[0] = static_cast<std::uint8_t>(n >> 24);
    out[1] = static_cast<std::uint8_t>(n >> 16);
    out[2] = static_cast<std::uint8_t>(n >> 8);
    out[3] = static_cast<std::uint8_t>(n);
    out[4] = kind;
    if (!payload.empty()) std::memcpy(out.data() + 5, payload.data(), payload.size());
    return out;
}

std::vector<std::uint8_t> json_frame(const json& message) {
    const std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
    return frame(k_kind_json, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

std::uint32_t frame_length(std::span<const std::uint8_t, 4> h) {
    return (std::uint32_t{h[0]} << 24) | (std::uint32_t{h[1]} << 16) | (std::uint32_t{h[2]} << 8) |
           std::uint32_t{h[3]};
}

json error_json(const base::Error& error) {
    json j = {{"code", base::code_name(error.code)},
              {"message", error.context},
              {"hint", error.hint},
              {"origin", base::origin_name(error.origin)},
              {"raw", error.raw},
              {"raw_name", error.raw_name}};
    if (error.retries_left) j["retries_left"] = *error.retries_left;
    return j;
}

base::Error error_from_json(const json& j) {
    base::Error error(base::ErrorCode::Internal, "the agent sent a malformed error");
    if (!j.is_object()) return error;
    const std::string code = j.value("code", "");
    for (int c = 0; c <= static_cast<int>(base::ErrorCode::Internal); ++c) {
        if (base::code_name(static_cast<base::ErrorCode>(c)) == code)
            error.code = static_cast<base::ErrorCode>(c);
    }
    error.context = j.value("message", error.context);
    error.hint = j.value("hint", "");
    const std::string origin = j.value("origin", "");
    for (int o = 0; o <= static_cast<int>(base::Origin::System); ++o) {
        if (base::origin_name(static_cast<base::Origin>(o)) == origin)
            error.origin = static_cast<base::Origin>(o);
    }
    error.raw = j.value("raw", std::uint64_t{0});
    error.raw_name = j.value("raw_name", "");
    if (auto it = j.find("retries_left"); it != j.end() && it->is_number_integer())
        error.retries_left = it->get<int>();
    return error;
}

json error_reply(std::uint64_t id, const base::Error& error) {
    return {{"type", "result"}, {"id", id}, {"ok", false}, {"error", error_json(error)}};
}

json ok_reply(std::uint64_t id, json fields) {
    json j = {{"type", "result"}, {"id", id}, {"ok", true}};
    j.update(fields);
    return j;
}

}  // namespace keyfence::engine::agent
