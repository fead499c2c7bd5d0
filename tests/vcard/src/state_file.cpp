#include "state_file.hpp"

#include "card_key.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace keyfence::vcard {
namespace {

constexpr const char* k_magic = "keyfence-vcard-state";
constexpr const char* k_slot_names[3] = {"sig", "dec", "aut"};

std::string hex_or_dash(const Bytes& b) {
    return b.empty() ? "-" : to_hex(b);
}

std::optional<Bytes> parse_hex_or_dash(const std::string& s) {
    if (s == "-") return Bytes{};
    return from_hex(s);
}

void write_line(std::ostringstream& out, const std::string& key, const std::string& value) {
    out << key << ' ' << value << '\n';
}

}  // namespace

std::string serialize_state(const CardState& s) {
    std::ostringstream out;
    out << "# keyfence-vcard card state. SOFTWARE TEST CARD, NOT A SECURE TOKEN:\n"
        << "# PINs and private keys below are stored in clear.\n";
    out << k_magic << ' ' << k_state_format_version << '\n';
    write_line(out, "manufacturer", to_hex(be_bytes(s.manufacturer, 2)));
    write_line(out, "serial", to_hex(be_bytes(s.serial, 4)));
    write_line(out, "pw1", hex_or_dash(s.pw1.value) + " " + std::to_string(s.pw1.tries));
    write_line(out, "rc",
               hex_or_dash(s.reset_code.value) + " " + std::to_string(s.reset_code.tries));
    write_line(out, "pw3", hex_or_dash(s.pw3.value) + " " + std::to_string(s.pw3.tries));
    write_line(out, "pw1-several-signatures", s.pw1_valid_for_several_signatures ? "1" : "0");
    write_line(out, "signature-counter", std::to_string(s.signature_counter));
    write_line(out, "terminated", s.terminated ? "1" : "0");
    write_line(out, "name", hex_or_dash(s.name));
    write_line(out, "language", hex_or_dash(s.language));
    write_line(out, "sex", hex_or_dash(s.sex));
    write_line(out, "url", hex_or_dash(s.url));
    write_line(out, "login", hex_or_dash(s.login));
    for (std::size_t i = 0; i < 3; ++i) {
        const KeySlotState& k = s.slots[i];
        std::string p = std::string("slot.") + k_slot_names[i] + ".";
        write_line(out, p + "attributes", to_hex(k.attributes.raw));
        write_line(out, p + "status", std::to_string(k.key_status));
        write_line(out, p + "fingerprint", hex_or_dash(k.fingerprint));
        write_line(out, p + "ca-fingerprint", hex_or_dash(k.ca_fingerprint));
        write_line(out, p + "time", hex_or_dash(k.generation_time));
        write_line(out, p + "certificate", hex_or_dash(k.certificate));
        if (k.key) {
            auto pem = private_key_pem(k.key.get());
            if (pem) out << p << "key\n" << *pem;  // PEM ends with "-----END ...-----\n"
        }
    }
    out << "end\n";
    return out.str();
}

namespace {

// Parses "value tries" for a password line.
bool parse_password(const std::string& rest, PasswordState& pw) {
    std::istringstream in(rest);
    std::string hex;
    unsigned tries = 0;
    if (!(in >> hex >> tries) || tries > 15) return false;
    auto v = parse_hex_or_dash(hex);
    if (!v) return false;
    pw.value = *v;
    pw.tries = static_cast<std::uint8_t>(tries);
    return true;
}

bool parse_bytes_field(const std::string& rest, Bytes& out) {
    auto v = parse_hex_or_dash(rest);
    if (!v) return false;
    out = *v;
    return true;
}

bool parse_slot_field(const std::string& field, const std::string& rest, KeySlotState& k,
                      KeySlot slot) {
    if (field == "attributes") {
        auto raw = from_hex(rest);
        if (!raw) return false;
        auto a = AlgorithmAttributes::parse(*raw, slot);
        if (!a) return false;
        k.attributes = *a;
        return true;
    }
    if (field == "status") {
        unsigned v = 0;
        if (std::sscanf(rest.c_str(), "%u", &v) != 1 || v > 2) return false;
        k.key_status = static_cast<std::uint8_t>(v);
        return true;
    }
    if (field == "fingerprint") return parse_bytes_field(rest, k.fingerprint);
    if (field == "ca-fingerprint") return parse_bytes_field(rest, k.ca_fingerprint);
    if (field == "time") return parse_bytes_field(rest, k.generation_time);
    if (field == "certificate") return parse_bytes_field(rest, k.certificate);
    return false;
}

// Handles one "key value" line; returns false on an unknown key or a bad value.
bool parse_scalar_line(const std::string& key, const std::string& rest, CardState& s) {
    unsigned long v = 0;
    if (key == "manufacturer" || key == "serial") {
        auto b = from_hex(rest);
        if (!b || b->size() != (key == "serial" ? 4u : 2u)) return false;
        for (std::uint8_t x : *b) v = v << 8 | x;
        if (key == "serial")
            s.serial = static_cast<std::uint32_t>(v);
        else
            s.manufacturer = static_cast<std::uint16_t>(v);
        return true;
    }
    if (key == "pw1") return parse_password(rest, s.pw1);
    if (key == "rc") return parse_password(rest, s.reset_code);
    if (key == "pw3") return parse_password(rest, s.pw3);
    if (key == "pw1-several-signatures" || key == "terminated" || key == "signature-counter") {
        if (std::sscanf(rest.c_str(), "%lu", &v) != 1) return false;
        if (key == "signature-counter") {
            if (v > 0xFFFFFF) return false;
            s.signature_counter = static_cast<std::uint32_t>(v);
        } else if (v > 1) {
            return false;
        } else if (key == "terminated") {
            s.terminated = v == 1;
        } else {
            s.pw1_valid_for_several_signatures = v == 1;
        }
        return true;
    }
    if (key == "name") return parse_bytes_field(rest, s.name);
    if (key == "language") return parse_bytes_field(rest, s.language);
    if (key == "sex") return parse_bytes_field(rest, s.sex);
    if (key == "url") return parse_bytes_field(rest, s.url);
    if (key == "login") return parse_bytes_field(rest, s.login);
    return false;
}

int slot_index(const std::string& name) {
    for (int i = 0; i < 3; ++i) {
        if (name == k_slot_names[i]) return i;
    }
    return -1;
}

}  // namespace

StateParseResult parse_state(const std::string& text) {
    StateParseResult result;
    CardState s = CardState::factory(0);
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    bool header = false;
    bool ended = false;
    auto fail = [&](const std::string& why) {
        return StateParseResult{std::nullopt, "line " + std::to_string(line_no) + ": " + why};
    };
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty() || line[0] == '#') continue;
        if (ended) return fail("data after 'end'");
        auto space = line.find(' ');
        std::string key = line.substr(0, space);
        std::string rest = space == std::string::npos ? "" : line.substr(space + 1);
        if (!header) {
            if (key != k_magic) return fail("not a keyfence-vcard state file");
            if (rest != std::to_string(k_state_format_version)) {
                return fail("unsupported state format version '" + rest + "'");
            }
            header = true;
            continue;
        }
        if (key == "end") {
            ended = true;
            continue;
        }
        if (key.rfind("slot.", 0) == 0) {
            auto dot = key.find('.', 5);
            int idx = dot == std::string::npos ? -1 : slot_index(key.substr(5, dot - 5));
            if (idx < 0) return fail("bad slot key '" + key + "'");
            std::string field = key.substr(dot + 1);
            KeySlotState& k = s.slots[static_cast<std::size_t>(idx)];
            if (field == "key") {
                std::string pem, pem_line;
                while (std::getline(in, pem_line)) {
                    ++line_no;
                    pem += pem_line + "\n";
                    if (pem_line.rfind("-----END ", 0) == 0) break;
                }
                k.key = private_key_from_pem(pem);
                if (!k.key || !key_matches_attributes(k.key.get(), k.attributes)) {
                    return fail("bad or mismatching private key PEM");
                }
                continue;
            }
            if (!parse_slot_field(field, rest, k, static_cast<KeySlot>(idx))) {
                return fail("bad value for '" + key + "'");
            }
            continue;
        }
        if (!parse_scalar_line(key, rest, s)) return fail("bad or unknown line '" + key + "'");
    }
    if (!header) return fail("empty state file");
    if (!ended) return fail("missing 'end' (truncated file?)");
    result.state = std::move(s);
    return result;
}

StateParseResult load_state_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {std::nullopt, path + ": " + std::strerror(errno)};
    std::ostringstream buf;
    buf << in.rdbuf();
    StateParseResult r = parse_state(buf.str());
    if (!r.state) r.error = path + ": " + r.error;
    return r;
}

std::string save_state_file(const std::string& path, const CardState& state) {
    std::string text = serialize_state(state);
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return tmp + ": " + std::strerror(errno);
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string err = tmp + ": write: " + std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return err;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        std::string err = tmp + ": fsync/close: " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return err;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        std::string err = path + ": rename: " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return err;
    }
    // Make the rename itself durable.
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

}  // namespace keyfence::vcard
