// libFuzzer: the PGP/MIME entry points that read outside data before gpg sees anything — a
// message to parse (GMime), its signed entities cut for gpg (RFC 3156 multipart/signed from the
// bytes received, inline blocks, what lies outside them) with the OpenPGP armor and packet
// bounds (docs/limits.md), the encrypted content found for decryption
// (multipart/encrypted, inline blocks, mixed parts) and the content prepared for signing or
// encryption — fed arbitrary bytes. Any crash, leak or UB is a bug; errors are expected.
// gpg's own parsing of the OpenPGP packets is GnuPG's to fuzz, and would cost a process per
// input here.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mail/pgp/decrypt.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/signed_entity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view message(reinterpret_cast<const char*>(data), size);
    (void)keyfence::mail::pgp::prepare_verification(message);
    (void)keyfence::mail::pgp::prepare_decryption(message);
    (void)keyfence::mail::pgp::prepare_content(message);
    return 0;
}
