#pragma once
// An OpenPGP v4 signature packet around a signature made by gpg-agent (RFC 4880 §5.2.3), for
// the one-pass `pgp sign` (mail/pgp/one_pass_sign.hpp): Keyfence hashes the content itself and
// the agent signs the digest, so the 1 GiB body is hashed once instead of once here (for the
// prompt) and again by gpg. The packet is what gpg 2.2 writes for `--detach-sign`: signature
// class 0x00 (binary document), the issuer fingerprint (33) and the creation time (2) hashed,
// the issuer key ID (16) unhashed, and the algorithm-specific MPIs.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace keyfence::mail::pgp {

/// What a signature says of itself, before the content is known.
struct SignatureParams {
    std::uint8_t pubkey_algo = 1;           ///< RFC 4880 §9.1: 1 RSA
    std::uint8_t hash_algo = 8;             ///< RFC 4880 §9.4: 8 SHA-256
    std::uint32_t created = 0;              ///< seconds since the epoch
    std::array<std::uint8_t, 20> issuer{};  ///< the signing (sub)key's v4 fingerprint
};

/// The fingerprint in hex (40 digits, as GPGME gives it) as bytes. Errors: BadInput.
base::Result<std::array<std::uint8_t, 20>> fingerprint_bytes(std::string_view hex);

/// What is hashed after the content (RFC 4880 §5.2.4): the signature's hashed part and the
/// v4 trailer (0x04 0xFF and the hashed part's length).
std::string hash_trailer(const SignatureParams& params);

/// An integer (big-endian, leading zero bytes allowed) as an OpenPGP MPI (RFC 4880 §3.2).
std::string mpi(std::span<const std::uint8_t> value);

/// The whole signature packet: `digest` is the hash over the content and hash_trailer()
/// (its first two bytes go in the packet), `mpis` the signature's MPIs (RSA: m^d mod n).
std::string signature_packet(const SignatureParams& params, std::span<const std::uint8_t> digest,
                             const std::vector<std::string>& mpis);

/// `packet` in ASCII armor as gpg writes a detached signature (RFC 4880 §6.2): "PGP
/// SIGNATURE", 64 columns, the CRC-24 checksum, LF line ends.
std::string armored_signature(std::string_view packet);

}  // namespace keyfence::mail::pgp
