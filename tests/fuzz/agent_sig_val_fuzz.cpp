// libFuzzer: gpg-agent's answers (mail/pgp/agent_sign.hpp) as arbitrary bytes. A signature
// value gives its algorithm's MPIs (RSA one, ECDSA and EdDSA two), which go into a signature
// packet and its armor; anything else is a ModuleFailure; the ECC check never passes garbage.
// Nothing may crash, leak or hit UB, and an MPI's length must match its value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/pgp/agent_sign.hpp"
#include "mail/pgp/signature_packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace pgp = keyfence::mail::pgp;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const std::uint8_t digest[32] = {};
    for (const std::uint8_t algo : {pgp::k_pk_rsa, pgp::k_pk_ecdsa, pgp::k_pk_eddsa}) {
        auto mpis = pgp::signature_mpis(bytes, algo);
        if (!mpis) continue;
        if (mpis->size() != (algo == pgp::k_pk_rsa ? 1u : 2u)) std::abort();
        for (const std::string& m : *mpis) {
            const std::size_t bits =
                static_cast<std::uint8_t>(m[0]) << 8 | static_cast<std::uint8_t>(m[1]);
            if (m.size() < 3 || (bits + 7) / 8 != m.size() - 2) std::abort();
        }
        pgp::SignatureParams params;
        params.pubkey_algo = algo;
        (void)pgp::armored_signature(pgp::signature_packet(params, digest, *mpis));
        // The ECC check takes the same bytes as a public key: refused, never a crash.
        if (algo != pgp::k_pk_rsa && pgp::check_ecc_signature(bytes, bytes, algo, digest)) {
            std::abort();
        }
    }
    return 0;
}
