#pragma once
// One audit record: what was asked of which key on which token, by which process, and what
// came of it. It holds digests and identifiers only: never a PIN, never message content.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace keyfence::engine::audit {

/// The requesting process. The CLI is its own caller; the agent will fill this in from the
/// peer's credentials (SO_PEERCRED).
struct Caller {
    long pid = 0;
    std::string executable;  ///< from /proc/<pid>/exe
    unsigned uid = 0;

    /// This process: getpid(), /proc/self/exe, getuid().
    static Caller self();
};

enum class OutcomeKind { Success, Refused, WrongPin, Cancelled, Error };
std::string_view result_name(OutcomeKind result);  ///< "success", "refused", "wrong_pin", ...

struct Outcome {
    OutcomeKind result = OutcomeKind::Success;
    std::string rule;        ///< the policy rule that refused (Refused)
    std::string error_code;  ///< base::code_name of the error (all but Success)
    std::string message;     ///< the error's message, redacted

    /// The outcome an error stands for; `rule` names the refusing rule when there is one.
    static Outcome from_error(const base::Error& error, std::string rule = {});
};

struct AuditEvent {
    std::string operation;  ///< "sign", "decrypt", "derive"
    std::string protocol;   ///< "raw", "s/mime", "openpgp"
    std::string key_uri;
    std::string key_label;
    std::string key_fingerprint;  ///< SHA-256 of the public key (SPKI DER), hex
    std::string token_label;
    std::string token_manufacturer;
    std::string token_model;
    std::string token_serial;
    std::string hash;            ///< the hash the signature is made over ("sha256")
    std::string digest;          ///< that digest of the content, hex
    std::string content_sha256;  ///< SHA-256 of the content, hex
    std::string message_id;      ///< when there is a message
    /// OpenPGP cards: the card's signature counter after the operation, so the log can be
    /// reconciled with the card.
    std::optional<std::uint32_t> signature_counter;
    Caller caller;
    Outcome outcome;
};

/// The record's fields, without the chain fields (seq, time, prev, hash) the log adds.
nlohmann::json to_json(const AuditEvent& event);

}  // namespace keyfence::engine::audit
