#pragma once
// A signature made by the home's gpg-agent over a digest Keyfence computed (SIGKEY, SETHASH,
// PKSIGN: what gpg itself sends, g10/call-agent.c). The agent diverts to the token (scdaemon or
// gnupg-pkcs11-scd), asks for the PIN with INQUIRE PASSPHRASE (loopback), answered once by
// the operation's PassphraseAnswerer, and returns the signature value as an S-expression. For
// an RSA token key the agent checks the token's signature with the public key before it
// returns it (the fault defence, docs/pgp.md "Large messages").

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/pgp/passphrase.hpp"

namespace keyfence::mail::pgp {

/// Signs `digest`, a hash by `hash_algo` (OpenPGP's and libgcrypt's number: 8 SHA-256, 9
/// SHA-384, 10 SHA-512), with the key `keygrip` of the agent of `homedir` (started if need
/// be). Returns the agent's canonical S-expression (sig-val ...). Errors: those of gpg_error()
/// for the agent's refusal (PinIncorrect, PinLocked, Cancelled, KeyNotFound, ...; the
/// fallback ModuleFailure), Io when the agent cannot be reached.
base::Result<std::string> agent_sign_digest(const std::string& homedir, const std::string& keygrip,
                                            int hash_algo, std::span<const std::uint8_t> digest,
                                            PassphraseAnswerer& answerer);

/// The MPI of an RSA signature value "(sig-val (rsa (s S)))" (RFC 4880 §5.2.2: m^d mod n).
/// Errors: ModuleFailure when it is not one.
base::Result<std::vector<std::string>> rsa_signature_mpis(std::string_view sig_val);

}  // namespace keyfence::mail::pgp
