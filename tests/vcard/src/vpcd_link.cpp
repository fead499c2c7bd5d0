#include "vpcd_link.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace keyfence::vcard {
namespace {

constexpr std::uint8_t k_power_off = 0x00, k_power_on = 0x01, k_reset = 0x02, k_get_atr = 0x04;

enum class Io { Ok, Eof, Error };

Io read_exact(int fd, std::uint8_t* buf, std::size_t n) {
    while (n > 0) {
        // vpcd writes the length and the payload with two send() calls; without quick ACKs
        // Nagle on its side and delayed ACK on ours cost ~40 ms per APDU.
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        ssize_t r = ::recv(fd, buf, n, 0);
        if (r == 0) return Io::Eof;
        if (r < 0) {
            if (errno == EINTR) return Io::Error;  // only SIGTERM/SIGINT interrupt: stop
            return errno == ECONNRESET ? Io::Eof : Io::Error;
        }
        buf += r;
        n -= static_cast<std::size_t>(r);
    }
    return Io::Ok;
}

bool write_frame(int fd, ByteView payload) {
    Bytes frame = be_bytes(payload.size(), 2);
    append(frame, payload);
    const std::uint8_t* p = frame.data();
    std::size_t n = frame.size();
    while (n > 0) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// PIN-carrying commands are logged without their data field.
std::string describe_apdu(ByteView apdu) {
    bool secret = apdu.size() > 5 && (apdu[1] == 0x20 || apdu[1] == 0x24 || apdu[1] == 0x2C ||
                                      apdu[1] == 0xDB || (apdu[1] == 0xDA && apdu[3] == 0xD3));
    if (!secret) return to_hex(apdu);
    return to_hex(apdu.first(4)) + " <" + std::to_string(apdu.size() - 4) + " bytes redacted>";
}

FaultPlan current_plan(const LinkOptions& o) {
    FaultPlan plan = o.faults;
    if (o.control_path.empty()) return plan;
    std::ifstream in(o.control_path);
    if (!in) return plan;
    std::ostringstream text;
    text << in.rdbuf();
    if (std::string err = apply_fault_text(text.str(), plan); !err.empty()) {
        std::cerr << "keyfence-vcard: control file " << o.control_path << ": " << err
                  << " (ignored)\n";
        return o.faults;
    }
    return plan;
}

}  // namespace

int connect_to_vpcd(const LinkOptions& o, const std::atomic<bool>& stop) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(o.connect_timeout_ms);
    std::string port = std::to_string(o.port);
    do {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res) == 0) {
            for (addrinfo* ai = res; ai; ai = ai->ai_next) {
                int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
                if (fd < 0) continue;
                if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                    int one = 1;
                    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    ::freeaddrinfo(res);
                    return fd;
                }
                ::close(fd);
            }
            ::freeaddrinfo(res);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (!stop && std::chrono::steady_clock::now() < deadline);
    return -1;
}

LinkEnd serve_connection(int fd, Card& card, const LinkOptions& o, const std::atomic<bool>& stop) {
    std::uint64_t apdu_count = 0;
    Bytes payload;
    while (!stop) {
        std::uint8_t header[2];
        Io io = read_exact(fd, header, 2);
        if (io == Io::Ok) {
            payload.resize(static_cast<std::size_t>(header[0] << 8 | header[1]));
            io = read_exact(fd, payload.data(), payload.size());
        }
        if (io == Io::Eof) return LinkEnd::PeerClosed;
        if (io == Io::Error) {
            if (stop) return LinkEnd::Stopped;
            std::cerr << "keyfence-vcard: recv: " << std::strerror(errno) << "\n";
            return LinkEnd::Error;
        }
        if (payload.size() == 1) {
            std::uint8_t code = payload[0];
            if (o.verbose && code != k_get_atr) std::cerr << "vcard: control " << int(code) << "\n";
            if (code == k_power_off)
                card.power_off();
            else if (code == k_power_on)
                card.power_on();
            else if (code == k_reset)
                card.reset();
            else if (code == k_get_atr && !write_frame(fd, answer_to_reset()))
                return LinkEnd::Error;
            continue;
        }
        if (payload.size() < 4) continue;  // not an APDU; vpcd never sends this
        ++apdu_count;
        FaultPlan plan = current_plan(o);
        CommandKind kind = classify_command(payload);
        if (o.verbose) std::cerr << "vcard: > " << describe_apdu(payload) << "\n";
        if ((plan.remove_after != 0 && apdu_count > plan.remove_after) ||
            plan.remove_on.matches(apdu_count, kind)) {
            std::cerr << "keyfence-vcard: fault: card removed at APDU " << apdu_count << "\n";
            return LinkEnd::Removed;
        }
        if (plan.latency_ms > 0 && is_private_key_operation(kind)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(plan.latency_ms));
        }
        card.set_corrupt_signature(plan.corrupt_signature);
        card.set_counter_step(plan.counter_step);
        Bytes response = card.process(payload);
        if (plan.garble.matches(apdu_count, kind)) response = garble_response(std::move(response));
        if (plan.truncate.matches(apdu_count, kind))
            response = truncate_response(std::move(response));
        if (o.verbose) std::cerr << "vcard: < " << to_hex(response) << "\n";
        if (!write_frame(fd, response)) return LinkEnd::Error;
    }
    return LinkEnd::Stopped;
}

}  // namespace keyfence::vcard
