#pragma once
// The policy's rules about tokens, keys and signatures, checked before any PIN is asked.
// A refusal is PolicyDenied: "refused by rule '<setting>': <why>", with a hint that says where
// the rule was set.

#include <optional>
#include <string>

#include "base/result.hpp"
#include "engine/policy/effective_policy.hpp"
#include "token/pkcs11/key_lease.hpp"
#include "token/pkcs11/registry.hpp"

namespace keyfence::engine::policy {

/// What is about to happen with the key, as far as the rules care.
struct RuleRequest {
    bool sign = false;  ///< a signature (hash and padding rules apply)
    std::string hash;   ///< "sha256", ... when signing
    token::pkcs11::SignPadding padding = token::pkcs11::SignPadding::Pkcs1v15;  ///< RSA only
    bool demo_mode = false;  ///< --demo was given
};

/// The rule that refused, for the audit log and the message.
struct Refusal {
    std::string rule;  ///< "tokens.require_hardware", "demo_token", ...
    base::Error error;
};

/// Checks every rule in a fixed order; returns the first refusal, or nullopt when allowed.
std::optional<Refusal> check_rules(const EffectivePolicy& policy,
                                   const token::pkcs11::KeyMatch& match,
                                   const RuleRequest& request);

/// The S/MIME content-cipher rule for a message about to be encrypted with `cipher`
/// ("aes-256-gcm", "aes-256-cbc", ...): only new mail is judged; what arrives is decrypted and
/// reported (a CBC message as unauthenticated).
std::optional<Refusal> check_smime_cipher(const EffectivePolicy& policy, const std::string& cipher);

/// The OpenPGP integrity rule (algorithms.openpgp_integrity) for a message about to be
/// encrypted or decrypted. "mdc" is what GnuPG 2.2 gives (a message without MDC is always
/// refused by the PGP/MIME code); "aead" cannot be met by the GnuPG 2.2 of Debian 12, which
/// neither writes nor reads AEAD (OCB) packets, so it refuses every OpenPGP encryption and
/// decryption, before any PIN.
std::optional<Refusal> check_openpgp_integrity(const EffectivePolicy& policy);

/// Whether `text` matches any glob pattern (fnmatch(3); '*' also matches '/').
bool matches_any(const std::vector<std::string>& patterns, const std::string& text);

/// Whether `module_path` matches any pattern: a pattern with a '/' is matched against the whole
/// path, one without against the file name ("libsofthsm2.so", "opensc-*.so").
bool module_matches_any(const std::vector<std::string>& patterns, const std::string& module_path);

}  // namespace keyfence::engine::policy
