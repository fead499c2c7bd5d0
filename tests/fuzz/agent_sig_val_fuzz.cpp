// libFuzzer: gpg-agent's answer to PKSIGN (mail/pgp/agent_sign.hpp) as arbitrary bytes. An RSA
// signature value gives one MPI, which goes into a signature packet and its armor; anything
// else is a ModuleFailure. Nothing may crash, leak or hit UB, and an MPI's length must match
// its value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/pgp/agent_sign.hpp"
#include "mail/pgp/signature_packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace pgp = keyfence::mail::pgp;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto mpis = pgp::rsa_signature_mpis(bytes);
    if (!mpis) return 0;
    if (mpis->size() != 1 || (*mpis)[0].size() < 2) std::abort();
    const std::string& m = (*mpis)[0];
    const std::size_t bits = static_cast<std::uint8_t>(m[0]) << 8 | static_cast<std::uint8_t>(m[1]);
    if ((bits + 7) / 8 != m.size() - 2) std::abort();
    const std::uint8_t digest[32] = {};
    const std::string packet = pgp::signature_packet(pgp::SignatureParams{}, digest, *mpis);
    (void)pgp::armored_signature(packet);
    return 0;
}
