// libFuzzer: the PGP/MIME entry points that read outside data before gpg sees anything — a
// message to parse (GMime), its RFC 3156 signed body cut from the bytes received (the From:
// binding's addresses, partial signing), the encrypted content found for decryption
// (multipart/encrypted, inline blocks, mixed parts) and the content prepared for signing or
// encryption — fed arbitrary bytes. Any crash, leak or UB is a bug; errors are expected.
// gpg's own parsing of the OpenPGP packets is GnuPG's to fuzz, and would cost a process per
// input here.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mail/pgp/decrypt.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view message(reinterpret_cast<const char*>(data), size);
    (void)keyfence::mail::pgp::parse_signed(message);
    (void)keyfence::mail::pgp::prepare_decryption(message);
    (void)keyfence::mail::pgp::prepare_content(message);
    return 0;
}
