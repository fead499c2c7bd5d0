#include "options.hpp"

#include <sstream>
#include <string_view>
#include <vector>

namespace keyfence::vcard {
namespace {

constexpr const char* k_usage = R"(usage: keyfence-vcard --port PORT [options]

A SOFTWARE OpenPGP card 3.4 for vpcd (vsmartcard) behind pcscd. Test and demo equipment:
keys and PINs are kept in clear in the state file. Not a secure token.

  --host HOST            vpcd host (default 127.0.0.1)
  --port PORT            vpcd port (reader "... 00 00" of a vpcd entry with CHANNELID PORT)
  --state FILE           card state file; created if missing (default: in-memory card)
  --init                 start from factory state even if FILE exists (overwrites it)
  --serial HEX8          card serial number (4 bytes, part of the AID); default random
  --key-attrs A[,A,A]    algorithms for a new card: sig,dec,aut from rsa2048 rsa3072
                         rsa4096 nistp256 nistp384 ed25519 cv25519 (one name = all slots,
                         with ed25519 -> cv25519 and nistp* ECDH for dec)
  --reconnect            when vpcd closes (or a removal fault fires), reconnect
  --reinsert-ms N        delay before reconnecting (default 1000)
  --connect-timeout-ms N keep retrying the first connect this long (default 10000)
  --control FILE         fault control file, re-read before every APDU (see README)
  --latency-ms N         add N ms to every private-key operation
  --remove-after N       close the socket instead of answering APDU N+1 (card removed)
  --remove-during-op     close the socket instead of answering the next private-key op
  --remove-on SEL        close the socket instead of answering APDUs matching SEL
  --garble SEL           invert bits of responses matching SEL
  --truncate SEL         cut responses matching SEL to half their length
  --corrupt-signature    flip one bit in every signature the card returns
  --counter-step N       each signature adds N to the signature counter (default 1)
  --verbose              log control bytes and APDUs (PIN data redacted) to stderr
SEL: a 1-based APDU number, or any|sign|decipher|auth|generate|private-op.
)";

bool parse_uint(std::string_view s, unsigned long long max, unsigned long long& out) {
    if (s.empty()) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<unsigned>(c - '0');
        if (out > max) return false;
    }
    return true;
}

bool parse_key_attrs(const std::string& text, std::array<AlgorithmAttributes, 3>& out) {
    std::vector<std::string> names;
    std::istringstream in(text);
    for (std::string n; std::getline(in, n, ',');) names.push_back(n);
    if (names.size() == 1) {
        std::string dec = names[0] == "ed25519" ? "cv25519" : names[0];
        names = {names[0], dec, names[0]};
    }
    if (names.size() != 3) return false;
    for (std::size_t i = 0; i < 3; ++i) {
        auto a = AlgorithmAttributes::from_name(names[i], static_cast<KeySlot>(i));
        if (!a) return false;
        out[i] = *a;
    }
    return true;
}

}  // namespace

ParsedOptions parse_options(int argc, char** argv) {
    Options o;
    ParsedOptions out;
    std::string fault_text;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) return std::nullopt;
            return std::string(argv[++i]);
        };
        auto fail = [&](const std::string& why) {
            out.message = "keyfence-vcard: " + why + "\n" + k_usage;
            return out;
        };
        unsigned long long n = 0;
        if (arg == "--help" || arg == "-h") {
            out.message = k_usage;
            out.exit_code = 0;
            return out;
        } else if (arg == "--init") {
            o.init = true;
        } else if (arg == "--reconnect") {
            o.reconnect = true;
        } else if (arg == "--verbose") {
            o.verbose = true;
        } else if (arg == "--remove-during-op" || arg == "--corrupt-signature") {
            fault_text += arg.substr(2) + " 1\n";
        } else {
            auto v = value();
            if (!v) return fail("missing value for " + arg);
            if (arg == "--host") {
                o.host = *v;
            } else if (arg == "--port") {
                if (!parse_uint(*v, 65535, n) || n == 0) return fail("bad --port");
                o.port = static_cast<int>(n);
            } else if (arg == "--state") {
                o.state_path = *v;
            } else if (arg == "--serial") {
                auto b = from_hex(*v);
                if (!b || b->size() != 4) return fail("--serial needs 8 hex digits");
                o.serial = static_cast<std::uint32_t>((*b)[0] << 24 | (*b)[1] << 16 | (*b)[2] << 8 |
                                                      (*b)[3]);
            } else if (arg == "--key-attrs") {
                std::array<AlgorithmAttributes, 3> attrs;
                if (!parse_key_attrs(*v, attrs)) return fail("bad --key-attrs");
                o.key_attributes = attrs;
            } else if (arg == "--reinsert-ms" || arg == "--connect-timeout-ms") {
                if (!parse_uint(*v, 3600000, n)) return fail("bad " + arg);
                (arg == "--reinsert-ms" ? o.reinsert_ms : o.connect_timeout_ms) =
                    static_cast<unsigned>(n);
            } else if (arg == "--control") {
                o.control_path = *v;
            } else if (arg == "--counter-step") {
                fault_text += "counter-step " + *v + "\n";
            } else if (arg == "--latency-ms" || arg == "--remove-after" || arg == "--remove-on" ||
                       arg == "--garble" || arg == "--truncate") {
                fault_text += arg.substr(2) + " " + *v + "\n";
            } else {
                return fail("unknown option " + arg);
            }
        }
    }
    if (std::string err = apply_fault_text(fault_text, o.faults); !err.empty()) {
        out.message = "keyfence-vcard: bad fault option: " + err + "\n";
        return out;
    }
    if (o.port == 0) {
        out.message = std::string("keyfence-vcard: --port is required\n") + k_usage;
        return out;
    }
    out.options = std::move(o);
    out.exit_code = 0;
    return out;
}

}  // namespace keyfence::vcard
