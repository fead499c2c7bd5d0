#pragma once
// A signature made by the home's gpg-agent over a digest Keyfence computed (SIGKEY, SETHASH,
// PKSIGN: what gpg itself sends, g10/call-agent.c). The agent diverts to the token (scdaemon or
// gnupg-pkcs11-scd), asks for the PIN with INQUIRE PASSPHRASE (loopback), answered once by
// the operation's PassphraseAnswerer, and returns the signature value as an S-expression.
//
// Fault defence: a signature that does not verify never leaves. For an RSA token key the agent
// checks the token's signature with the public key before it returns it (agent/pksign.c,
// docs/pgp.md "Large messages"); for ECDSA and EdDSA keys it does not, so Keyfence checks them
// itself with libgcrypt against the public key the agent holds for the keygrip (READKEY).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/pgp/passphrase.hpp"

namespace keyfence::mail::pgp {

/// OpenPGP public-key algorithms (RFC 4880 §9.1, RFC 6637, draft-koch-eddsa-for-openpgp).
constexpr std::uint8_t k_pk_rsa = 1;
constexpr std::uint8_t k_pk_rsa_sign = 3;
constexpr std::uint8_t k_pk_ecdsa = 19;
constexpr std::uint8_t k_pk_eddsa = 22;

/// Signs `digest`, a hash by `hash_algo` (OpenPGP's and libgcrypt's number: 8 SHA-256, 9
/// SHA-384, 10 SHA-512), with the key `keygrip` (of algorithm `pubkey_algo`: RSA, ECDSA or
/// EdDSA) of the agent of `homedir` (started if need be), and returns the signature's MPIs
/// (RSA: s; ECDSA and EdDSA: r, s), checked as above. Errors: those of gpg_error() for the
/// agent's refusal (PinIncorrect, PinLocked, Cancelled, KeyNotFound, ...; the fallback
/// ModuleFailure), ModuleFailure for a signature that does not verify (withheld), Unsupported
/// for another algorithm, Io when the agent cannot be reached.
base::Result<std::vector<std::string>> agent_sign_digest(const std::string& homedir,
                                                         const std::string& keygrip,
                                                         std::uint8_t pubkey_algo, int hash_algo,
                                                         std::span<const std::uint8_t> digest,
                                                         PassphraseAnswerer& answerer);

/// The MPIs of the agent's signature value "(sig-val (rsa (s S)))", "(sig-val (ecdsa (r R) (s
/// S)))" or "(sig-val (eddsa (r R) (s S)))" for `pubkey_algo`. Errors: ModuleFailure when it is
/// not one, Unsupported for another algorithm.
base::Result<std::vector<std::string>> signature_mpis(std::string_view sig_val,
                                                      std::uint8_t pubkey_algo);

/// Checks an ECDSA or EdDSA signature value over `digest` with `public_key`,
/// the agent's "(public-key (ecc (curve C) (q Q)))" for the keygrip, as gpg verifies OpenPGP
/// signatures (EdDSA over the digest as its message). Errors: ModuleFailure when it does not
/// verify or cannot be checked.
base::Status check_ecc_signature(std::string_view public_key, std::string_view sig_val,
                                 std::uint8_t pubkey_algo, std::span<const std::uint8_t> digest);

}  // namespace keyfence::mail::pgp
