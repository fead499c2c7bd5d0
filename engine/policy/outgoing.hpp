#pragma once
// What `keyfence mail protect` does with one outgoing message: sign, encrypt, or both, with
// S/MIME or OpenPGP, decided from the policy's mail settings, the keys the sender has and the
// certificates and keys known for each recipient. Pure logic, so every case of the policy table
// in docs/mail.md is a unit test.

#include <optional>
#include <string>
#include <vector>

#include "engine/policy/policy.hpp"

namespace keyfence::engine::policy {

enum class MailProtocol { Smime, OpenPgp };

const char* protocol_name(MailProtocol protocol);  ///< "smime", "openpgp"

/// What one protocol offers for this message.
struct ProtocolReach {
    MailProtocol protocol;
    bool sender_can_sign = false;                 ///< the sender has a usable signing key
    std::vector<std::string> missing_recipients;  ///< recipients with no certificate / key
};

struct OutgoingPlan {
    MailProtocol protocol = MailProtocol::Smime;
    bool sign = false;
    bool encrypt = false;
};

/// A refusal: the policy rule that refused and a message naming what is missing.
struct PlanRefusal {
    std::string rule;  ///< "mail.sign", "mail.encrypt" or "mail.unprotected"
    std::string message;
};

struct PlanDecision {
    std::optional<OutgoingPlan> plan;
    std::optional<PlanRefusal> refusal;
};

/// Decides. `reach` lists the protocols in order of preference (the user's --protocol, else
/// OpenPGP first when it reaches every recipient, since its keys were chosen by the user for this
/// address). Rules, in order:
///  - encryption is possible with a protocol when no recipient is missing in it;
///  - mail.encrypt = always: refused when no protocol can encrypt to every recipient;
///  - mail.encrypt = when-possible: encrypt with the first protocol that can;
///  - mail.sign = always: sign with the chosen protocol; refused when the sender has no key in it;
///  - a plan that neither signs nor encrypts is refused (mail.unprotected): `mail protect` never
///    hands on an unprotected message; send unprotected mail without it.
PlanDecision decide_outgoing(const Policy::Mail& policy, const std::vector<ProtocolReach>& reach);

}  // namespace keyfence::engine::policy
