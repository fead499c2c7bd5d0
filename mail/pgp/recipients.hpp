#pragma once
// Which keys an OpenPGP message is encrypted to, read before any decryption, so that the engine
// judges — and the PIN prompt names — the token key gpg will then use, and no other.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace keyfence::mail::pgp {

/// The key ids (16 hex digits, upper case) of the public-key encrypted session key packets of
/// `ciphertext` (RFC 4880 §5.1), listed by gpg --list-only --list-packets in `homedir` without
/// decrypting. Errors: BadInput (no such packet: not a public-key encrypted message), Io.
base::Result<std::vector<std::string>> message_recipients(const std::string& homedir,
                                                          std::string_view ciphertext);

/// True for the key id of a hidden recipient (gpg --throw-keyids: all zeros).
bool is_hidden_recipient(const std::string& keyid);

}  // namespace keyfence::mail::pgp
