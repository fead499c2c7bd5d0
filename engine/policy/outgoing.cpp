#include "engine/policy/outgoing.hpp"

namespace keyfence::engine::policy {
namespace {

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
}

const ProtocolReach* first_that_encrypts(const std::vector<ProtocolReach>& reach) {
    for (const auto& r : reach)
        if (r.missing_recipients.empty()) return &r;
    return nullptr;
}

const ProtocolReach* first_that_signs(const std::vector<ProtocolReach>& reach) {
    for (const auto& r : reach)
        if (r.sender_can_sign) return &r;
    return nullptr;
}

// Why no protocol reaches everyone: each protocol's missing recipients.
std::string missing_report(const std::vector<ProtocolReach>& reach) {
    std::string out;
    for (const auto& r : reach) {
        out += std::string(out.empty() ? "" : "; ") + protocol_name(r.protocol) + " has no " +
               (r.protocol == MailProtocol::Smime ? "certificate" : "key") + " for " +
               joined(r.missing_recipients);
    }
    return out.empty() ? "neither S/MIME nor OpenPGP is available" : out;
}

}  // namespace

const char* protocol_name(MailProtocol protocol) {
    return protocol == MailProtocol::Smime ? "smime" : "openpgp";
}

PlanDecision decide_outgoing(const Policy::Mail& policy, const std::vector<ProtocolReach>& reach) {
    const bool want_sign = policy.sign == MailSign::Always;
    // Signing and encrypting go together in one protocol, so that the recipient gets one
    // signed-and-encrypted message: a protocol encrypts this message only if it reaches every
    // recipient and, when a signature is required, the sender can sign in it.
    const ProtocolReach* encrypting = nullptr;
    if (policy.encrypt != MailEncrypt::Never) {
        for (const auto& r : reach) {
            if (r.missing_recipients.empty() && (!want_sign || r.sender_can_sign)) {
                encrypting = &r;
                break;
            }
        }
    }
    if (policy.encrypt == MailEncrypt::Always && encrypting == nullptr) {
        if (const ProtocolReach* reaches = first_that_encrypts(reach); reaches != nullptr) {
            return {.refusal = PlanRefusal{"mail.sign",
                                           std::string("the policy requires a signed and encrypted "
                                                       "message; ") +
                                               protocol_name(reaches->protocol) +
                                               " reaches every recipient, but the sender has no "
                                               "signing key for it"}};
        }
        return {.refusal = PlanRefusal{"mail.encrypt", "the policy requires encryption, but " +
                                                           missing_report(reach)}};
    }
    const ProtocolReach* chosen = encrypting;
    if (chosen == nullptr && want_sign) chosen = first_that_signs(reach);
    if (want_sign && chosen == nullptr) {
        return {.refusal = PlanRefusal{"mail.sign",
                                       "the policy requires a signature, but the sender has no "
                                       "signing key for S/MIME or OpenPGP (see 'keyfence keys' "
                                       "and docs/pgp.md)"}};
    }
    if (chosen == nullptr) {
        return {.refusal = PlanRefusal{
                    "mail.unprotected",
                    "the message would be neither signed nor encrypted (" +
                        (policy.encrypt == MailEncrypt::Never
                             ? std::string("mail.sign and mail.encrypt are both 'never'")
                             : missing_report(reach)) +
                        "); 'keyfence mail protect' never passes on unprotected mail"}};
    }
    return {.plan = OutgoingPlan{
                .protocol = chosen->protocol, .sign = want_sign, .encrypt = encrypting != nullptr}};
}

}  // namespace keyfence::engine::policy
