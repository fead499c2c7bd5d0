#pragma once
// How a PGP/MIME verification or decryption is shown: text for people, JSON for programs
// (docs/pgp.md). Strings from the message or a key are stripped of control characters, so
// that message content cannot imitate Keyfence's status lines.

#include <nlohmann/json.hpp>

#include <string>

#include "mail/pgp/decrypt.hpp"
#include "mail/pgp/verify.hpp"

namespace keyfence::cli {

/// Text lines ending with "Result: VERIFIED" or "Result: NOT VERIFIED: why".
std::string pgp_verify_text(const mail::pgp::VerifyResult& result);
nlohmann::json pgp_verify_json(const mail::pgp::VerifyResult& result);

/// What was decrypted (and the signature inside, if any).
std::string pgp_decrypt_text(const mail::pgp::DecryptResult& result);
nlohmann::json pgp_decrypt_json(const mail::pgp::DecryptResult& result);

}  // namespace keyfence::cli
