// libFuzzer: the OpenPGP bounds scan (mail/pgp/packet_bounds.hpp, docs/limits.md) on arbitrary
// bytes, as a binary packet stream and as armored text, whole and fed in pieces whose size the
// first byte chooses. The verdict must not depend on how the input is cut (a streamed
// decryption feeds it in GMime's blocks), and nothing may crash, leak or hit UB.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "mail/pgp/packet_bounds.hpp"

namespace {
using keyfence::mail::pgp::ArmorScanner;
using keyfence::mail::pgp::PacketScanner;
using keyfence::mail::pgp::PgpLimits;

// Small limits, so that the fuzzer reaches every bound with short inputs.
constexpr PgpLimits k_small{.max_armor_line = 80,
                            .max_armor_headers = 4,
                            .max_packets = 16,
                            .max_partial_chunks = 8,
                            .min_first_partial = 512};

template <class Scanner, class View>
bool scan(View whole, std::size_t step) {
    Scanner s(k_small);
    for (std::size_t at = 0; at < whole.size(); at += step) {
        if (!s.feed(whole.subspan(at, std::min(step, whole.size() - at)))) return false;
    }
    return static_cast<bool>(s.finish());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    const std::size_t step = size > 0 ? data[0] % 13 + 1 : 1;
    if (scan<PacketScanner>(bytes, size + 1) != scan<PacketScanner>(bytes, step)) __builtin_trap();

    // ArmorScanner takes text: the same bytes, through a span of chars.
    const std::span<const char> text(reinterpret_cast<const char*>(data), size);
    struct Text {
        std::span<const char> s;
        std::size_t size() const { return s.size(); }
        std::string_view subspan(std::size_t at, std::size_t n) const { return {s.data() + at, n}; }
    };
    if (scan<ArmorScanner>(Text{text}, size + 1) != scan<ArmorScanner>(Text{text}, step)) {
        __builtin_trap();
    }
    (void)keyfence::mail::pgp::check_armored_bounds({text.data(), text.size()});
    return 0;
}
