// libFuzzer target over the agent's request parser: any bytes as the payload of a JSON frame
// must give a request that passes the protocol's limits, or BadInput with a reason — never a
// crash, a leak, an exception or undefined behaviour. A parsed request must also survive its
// own round trip (request_json, then parse_request again) unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "engine/agent/protocol.hpp"

using namespace keyfence::engine::agent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = parse_request({data, size});
    if (!parsed) {
        if (parsed.error().code != keyfence::base::ErrorCode::BadInput) std::abort();
        if (parsed.error().context.empty()) std::abort();
        return 0;
    }
    const Request& r = *parsed;
    if (r.digest.size() > 64 || r.data.size() > k_max_data_bytes ||
        r.summary.size() > k_max_summary_lines || r.key_uri.size() > k_max_string) {
        std::abort();
    }
    const auto frame_bytes = json_frame(request_json(r));
    if (frame_bytes.size() < 5 ||
        frame_length(std::span(frame_bytes).first<4>()) != frame_bytes.size() - 4) {
        std::abort();
    }
    auto again = parse_request(std::span(frame_bytes).subspan(5));
    if (!again || again->id != r.id || again->op != r.op || again->digest != r.digest ||
        again->data != r.data || again->summary != r.summary || again->key_uri != r.key_uri ||
        !(again->options == r.options)) {
        std::abort();
    }
    return 0;
}
