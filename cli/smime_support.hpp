#pragma once
// Glue shared by the S/MIME and certificate commands: the prompt's summary of a message, the
// certificate that sits beside a token key, and turning a Status into an exit code.

#include <string>
#include <utility>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "cli/command.hpp"
#include "mail/mime/message.hpp"
#include "token/pkcs11/key_lease.hpp"
#include "token/pkcs11/registry.hpp"

namespace keyfence::cli {

/// The From/To/Cc/Subject/Date lines of the PIN prompt (empty headers are left out).
std::vector<std::pair<std::string, std::string>> message_summary(
    const mail::mime::MessageHeaders& headers);

/// The certificate stored on the token with the key's CKA_ID. Errors: KeyNotFound with a hint
/// to enroll (smime csr, smime import-cert).
base::Result<base::X509Ptr> key_certificate(const token::pkcs11::KeyMatch& match);

/// The lease's key (libp11's) for OpenSSL's CMS code. Keys that need a context-specific login
/// for each operation (CKA_ALWAYS_AUTHENTICATE, PIV slot 9c style) are refused: libp11 0.4.12
/// asks its own UI for that PIN; callers give those a lease_delegate (cli/smime_delegates.hpp)
/// instead. Errors: Unsupported, and evp_pkey's.
base::Result<EVP_PKEY*> smime_key(token::pkcs11::KeyLease& lease);

/// Reports the error of a failed status and returns its exit code; 0 on success.
int finish(const base::Status& status);

/// The request for an S/MIME private-key operation on a message: its summary for the prompt,
/// and what the audit log keeps (protocol, content SHA-256, Message-ID).
engine::OperationRequest smime_request(engine::Operation op, const std::string& key_uri,
                                       const mail::mime::MessageHeaders& headers,
                                       std::span<const std::uint8_t> sha256);

/// Writes the audit record of an S/MIME operation on `match` that `authorize` let through (the
/// engine records refusals and failed logins itself). Returns `result`, or the audit error
/// when the policy requires the log and the record could not be written.
base::Status record_operation(engine::Engine& engine, const token::pkcs11::KeyMatch& match,
                              const engine::OperationRequest& request, base::Status result);

/// Registration of the S/MIME subcommands of `smime` (cli/smime_*_command.cpp).
void add_smime_sign_verify(CommandContext& context, CLI::App* smime);
void add_smime_encrypt_decrypt(CommandContext& context, CLI::App* smime);
void add_smime_enrollment(CommandContext& context, CLI::App* smime);

}  // namespace keyfence::cli
