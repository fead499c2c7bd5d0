#include "cli/pgp_report.hpp"

#include "cli/smime_report.hpp"

namespace keyfence::cli {
namespace {
std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ", ") + printable(i);
    return s.empty() ? "(none)" : s;
}
}  // namespace

std::string pgp_verify_text(const mail::pgp::VerifyResult& r) {
    std::string t;
    if (!r.format.empty()) t += "Signed content: the whole message body (" + r.format + ")\n";
    for (const auto& s : r.signers) {
        t += "Signer key: " + printable(s.fingerprint) + "\n";
        t += "  user IDs: " + join(s.uids) + "\n";
        t += "  signed at: " + (s.created.empty() ? std::string("(not stated)") : s.created) + "\n";
        t += "  signature: " + std::string(s.good ? "valid" : "INVALID") + " (" +
             printable(s.status) + (s.hash.empty() ? "" : ", " + s.hash) + ")\n";
        t += "  key: " +
             std::string(!s.key_known    ? "NOT IN THE KEYRING"
                         : s.key_revoked ? "REVOKED"
                         : s.key_expired ? "EXPIRED"
                                         : "present") +
             ", validity " + s.validity + "\n";
    }
    t += "From: " + join(r.from_addresses) +
         (r.from_matches ? " (matches the signer)\n" : " (does NOT match the signer)\n");
    t += r.verified() ? "Result: VERIFIED\n"
                      : "Result: NOT VERIFIED: " + printable(r.failure) + "\n";
    return t;
}

nlohmann::json pgp_verify_json(const mail::pgp::VerifyResult& r) {
    nlohmann::json signers = nlohmann::json::array();
    for (const auto& s : r.signers) {
        signers.push_back({{"fingerprint", s.fingerprint},
                           {"uids", s.uids},
                           {"addresses", s.addresses},
                           {"signature_valid", s.good},
                           {"status", s.status},
                           {"hash", s.hash},
                           {"created", s.created},
                           {"key_known", s.key_known},
                           {"key_revoked", s.key_revoked},
                           {"key_expired", s.key_expired},
                           {"validity", s.validity}});
    }
    return {{"verified", r.verified()}, {"failure", r.failure},           {"format", r.format},
            {"from", r.from_addresses}, {"from_matches", r.from_matches}, {"signers", signers}};
}

std::string pgp_decrypt_text(const mail::pgp::DecryptResult& r) {
    std::string t = "Decrypted: " + r.format + " (" + (r.cipher.empty() ? "?" : r.cipher) +
                    ", integrity protected)\n";
    t += "Encrypted to: " + join(r.recipients) + "\n";
    if (r.mixed) {
        t += "WARNING: the message mixed encrypted and unencrypted content; only the decrypted "
             "part is output\n";
    }
    if (r.signature) {
        t += pgp_verify_text(*r.signature);
    } else {
        t += "Signature: none (the content is not signed)\n";
    }
    return t;
}

nlohmann::json pgp_decrypt_json(const mail::pgp::DecryptResult& r) {
    nlohmann::json j = {{"decrypted", true},        {"format", r.format},
                        {"cipher", r.cipher},       {"integrity_protected", true},
                        {"mixed_content", r.mixed}, {"recipients", r.recipients}};
    j["signature"] = r.signature ? pgp_verify_json(*r.signature) : nlohmann::json(nullptr);
    return j;
}

}  // namespace keyfence::cli
