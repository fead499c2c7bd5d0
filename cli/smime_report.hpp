#pragma once
// How a verification is shown: text for people, JSON for programs (docs/smime.md). Every
// string that came from the message or a certificate is stripped of control characters, so
// message content cannot imitate Keyfence's own status lines.

#include <nlohmann/json.hpp>

#include <string>

#include "mail/smime/verify.hpp"

namespace keyfence::cli {

/// The result as text lines, ending with "Result: VERIFIED" or "Result: NOT VERIFIED: why".
std::string verify_text(const mail::smime::VerifyResult& result);

/// The result as a JSON object (docs/smime.md).
nlohmann::json verify_json(const mail::smime::VerifyResult& result);

/// `text` without control characters (each becomes '?').
std::string printable(const std::string& text);

}  // namespace keyfence::cli
