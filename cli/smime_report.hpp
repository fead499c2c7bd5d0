#pragma once
// How a verification is shown: text for people, JSON for programs (docs/smime.md). The text is
// Keyfence's own labels and words; every string that came from the message or a certificate
// (addresses, names, subjects, header fields) is quoted with mail::mime::quote — one line,
// escaped, in double quotes — so message content can neither break a line nor pass for a
// status. The verdict is the last line and the exit code; JSON strings are valid UTF-8.

#include <nlohmann/json.hpp>

#include <string>

#include "cli/command.hpp"
#include "mail/smime/verify.hpp"

namespace keyfence::cli {

/// The result as text lines, ending with "Result: VERIFIED ..." or "Result: NOT VERIFIED ...".
std::string verify_text(const mail::smime::VerifyResult& result);

/// The result as a JSON object (docs/smime.md); every string is valid UTF-8.
nlohmann::json verify_json(const mail::smime::VerifyResult& result);

/// `text` without control characters (each becomes '?').
std::string printable(const std::string& text);

/// Registers `smime verify` (cli/smime_verify_command.cpp).
void add_smime_verify(CommandContext& context, CLI::App* smime);

}  // namespace keyfence::cli
