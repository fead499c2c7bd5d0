#include "engine/policy/setting.hpp"

namespace keyfence::engine::policy {

namespace {
std::string quote(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}
}  // namespace

std::string_view Source::kind_name() const {
    switch (kind) {
        case Kind::Default:
            return "default";
        case Kind::Admin:
            return "admin";
        case Kind::User:
            return "user";
    }
    return "default";
}

std::string Source::describe() const {
    if (kind == Kind::Default) return "built-in default";
    return std::string(kind_name()) + " " + file + ":" + std::to_string(line) + ":" +
           std::to_string(column);
}

std::string format_value(const Value& value) {
    if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
    if (const auto* n = std::get_if<std::int64_t>(&value)) return std::to_string(*n);
    if (const auto* s = std::get_if<std::string>(&value)) return quote(*s);
    std::string out = "[";
    for (const auto& item : std::get<std::vector<std::string>>(value)) {
        out += (out.size() > 1 ? ", " : "") + quote(item);
    }
    return out + "]";
}

}  // namespace keyfence::engine::policy
