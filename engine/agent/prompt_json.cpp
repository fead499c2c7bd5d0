#include "engine/agent/prompt_json.hpp"

namespace keyfence::engine::agent {
namespace {
using nlohmann::json;

template <class T>
void get(const json& j, const char* name, T& out) {
    auto it = j.find(name);
    if (it == j.end()) return;
    if constexpr (std::is_same_v<T, bool>) {
        if (it->is_boolean()) out = it->get<bool>();
    } else {
        if (it->is_string()) out = it->get<std::string>();
    }
}
}  // namespace

json prompt_json(const token::PinRequest& r) {
    json summary = json::array();
    for (const auto& [label, value] : r.summary) summary.push_back({label, value});
    json j = {{"token_label", r.token_label},
              {"token_model", r.token_model},
              {"token_manufacturer", r.token_manufacturer},
              {"token_serial", r.token_serial},
              {"token_is_software", r.token_is_software},
              {"key_label", r.key_label},
              {"key_fingerprint", r.key_fingerprint},
              {"operation", r.operation},
              {"summary", summary},
              {"count_low", r.count_low},
              {"final_try", r.final_try},
              {"context_specific", r.context_specific},
              {"confirmation", r.confirmation}};
    if (r.tries_left) j["tries_left"] = *r.tries_left;
    return j;
}

token::PinRequest prompt_from_json(const json& j) {
    token::PinRequest r;
    if (!j.is_object()) return r;
    get(j, "token_label", r.token_label);
    get(j, "token_model", r.token_model);
    get(j, "token_manufacturer", r.token_manufacturer);
    get(j, "token_serial", r.token_serial);
    get(j, "token_is_software", r.token_is_software);
    get(j, "key_label", r.key_label);
    get(j, "key_fingerprint", r.key_fingerprint);
    get(j, "operation", r.operation);
    get(j, "count_low", r.count_low);
    get(j, "final_try", r.final_try);
    get(j, "context_specific", r.context_specific);
    get(j, "confirmation", r.confirmation);
    if (auto it = j.find("tries_left"); it != j.end() && it->is_number_integer())
        r.tries_left = it->get<int>();
    if (auto it = j.find("summary"); it != j.end() && it->is_array()) {
        for (const auto& line : *it) {
            if (line.is_array() && line.size() == 2 && line[0].is_string() && line[1].is_string())
                r.summary.emplace_back(line[0].get<std::string>(), line[1].get<std::string>());
        }
    }
    return r;
}

}  // namespace keyfence::engine::agent
