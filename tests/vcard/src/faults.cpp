#include "faults.hpp"

#include <sstream>

namespace keyfence::vcard {

std::optional<FaultSelector> FaultSelector::parse(const std::string& text) {
    using M = Mode;
    FaultSelector s;
    if (text == "off" || text == "0" || text.empty()) return s;
    if (text == "any")
        s.mode = M::Any;
    else if (text == "sign")
        s.mode = M::Sign;
    else if (text == "decipher")
        s.mode = M::Decipher;
    else if (text == "auth")
        s.mode = M::Authenticate;
    else if (text == "generate")
        s.mode = M::Generate;
    else if (text == "private-op")
        s.mode = M::PrivateOp;
    else {
        std::size_t used = 0;
        unsigned long long n = 0;
        try {
            n = std::stoull(text, &used, 10);
        } catch (const std::exception&) {
            return std::nullopt;
        }
        if (used != text.size() || n == 0) return std::nullopt;
        s.mode = M::Nth;
        s.nth = n;
    }
    return s;
}

bool FaultSelector::matches(std::uint64_t apdu_index, CommandKind kind) const {
    switch (mode) {
        case Mode::Off:
            return false;
        case Mode::Nth:
            return apdu_index == nth;
        case Mode::Any:
            return true;
        case Mode::Sign:
            return kind == CommandKind::Sign;
        case Mode::Decipher:
            return kind == CommandKind::Decipher;
        case Mode::Authenticate:
            return kind == CommandKind::Authenticate;
        case Mode::Generate:
            return kind == CommandKind::Generate;
        case Mode::PrivateOp:
            return is_private_key_operation(kind);
    }
    return false;
}

std::string apply_fault_text(const std::string& text, FaultPlan& plan) {
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    FaultPlan out = plan;
    while (std::getline(in, line)) {
        ++line_no;
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::string key, value;
        if (!(words >> key)) continue;
        words >> value;
        std::string where = "line " + std::to_string(line_no) + " (" + key + ")";
        auto number = [&](unsigned long long& n) {
            try {
                std::size_t used = 0;
                n = std::stoull(value, &used, 10);
                return used == value.size();
            } catch (const std::exception&) {
                return false;
            }
        };
        unsigned long long n = 0;
        if (key == "latency-ms" || key == "remove-after" || key == "counter-step") {
            if (!number(n)) return where + ": expected a number";
            if (key == "latency-ms")
                out.latency_ms = static_cast<unsigned>(n);
            else if (key == "counter-step")
                out.counter_step = static_cast<unsigned>(n > 16 ? 16 : n);
            else
                out.remove_after = n;
        } else if (key == "remove-during-op" || key == "corrupt-signature") {
            bool on = value.empty() || value == "1" || value == "on" || value == "yes";
            if (!on && value != "0" && value != "off" && value != "no")
                return where + ": expected 0/1";
            if (key == "corrupt-signature")
                out.corrupt_signature = on;
            else
                out.remove_on = on ? *FaultSelector::parse("private-op") : FaultSelector{};
        } else if (key == "remove-on" || key == "garble" || key == "truncate") {
            auto sel = FaultSelector::parse(value);
            if (!sel) return where + ": expected off, N or a kind";
            (key == "garble"     ? out.garble
             : key == "truncate" ? out.truncate
                                 : out.remove_on) = *sel;
        } else {
            return where + ": unknown key";
        }
    }
    plan = out;
    return {};
}

Bytes garble_response(Bytes response) {
    if (response.empty()) return response;
    response[0] ^= 0xFF;
    if (response.size() > 3) response[(response.size() - 2) / 2] ^= 0xFF;
    return response;
}

Bytes truncate_response(Bytes response) {
    std::size_t keep = response.size() / 2;
    response.resize(keep == 0 ? std::min<std::size_t>(1, response.size()) : keep);
    return response;
}

}  // namespace keyfence::vcard
