#pragma once
// Who performs the one private-key operation of an S/MIME signature or decryption when it is
// not libp11's EVP_PKEY in this process: the agent (keyfenced), or this process's KeyLease for
// keys with CKA_ALWAYS_AUTHENTICATE. Both are mail::smime::KeyDelegate callbacks behind a
// delegated EVP_PKEY (mail/smime/delegated_key.hpp); OpenSSL's CMS work stays here.

#include "cli/globals.hpp"
#include "engine/agent/client.hpp"
#include "engine/engine.hpp"
#include "mail/smime/delegated_key.hpp"
#include "token/pkcs11/key_lease.hpp"

namespace keyfence::cli {

/// A delegate that sends each operation to `agent` as a `sign` or `decrypt` request
/// (docs/agent-protocol.md) with `operation`'s key, prompt summary, protocol, content SHA-256,
/// content digest and Message-ID, answering the agent's PIN questions from `pins` (may be
/// null). When the agent sends the command back ("fallback": it has other modules), the
/// operation fails and `*fallback` becomes true: the caller then works in-process. All
/// references must outlive the delegate. Not thread-safe.
mail::smime::KeyDelegate agent_delegate(engine::agent::AgentClient& agent,
                                        const GlobalOptions& globals,
                                        const engine::OperationRequest& operation,
                                        token::PinSource* pins, bool* fallback);

/// A delegate on `lease` (which must outlive it): KeyLease::sign_digest, decrypt and
/// derive_ecdh, each with the context-specific login that CKA_ALWAYS_AUTHENTICATE asks for,
/// made with the PIN given for the lease.
mail::smime::KeyDelegate lease_delegate(token::pkcs11::KeyLease& lease);

}  // namespace keyfence::cli
