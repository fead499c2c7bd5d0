#include "cli/smime_report.hpp"

namespace keyfence::cli {

std::string printable(const std::string& text) {
    std::string out = text;
    for (auto& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
    return out;
}

namespace {
std::string join(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ", ") + printable(i);
    return s.empty() ? "(none)" : s;
}
}  // namespace

std::string verify_text(const mail::smime::VerifyResult& r) {
    std::string t;
    if (!r.format.empty()) t += "Signed content: the whole message body (" + r.format + ")\n";
    for (const auto& s : r.signers) {
        const auto& c = s.certificate;
        t += "Signer: " + printable(c.subject) + "\n";
        t += "  addresses: " + join(c.emails) + "\n";
        t += "  issuer: " + printable(c.issuer) + "\n";
        t += "  valid: " + c.not_before + " to " + c.not_after + "\n";
        t += "  signed at: " + (s.signing_time.empty() ? "(not stated)" : s.signing_time) + "\n";
        t += "  signature: " + std::string(s.signature_valid ? "valid" : "INVALID") + " (" +
             s.digest_algorithm + ", " + s.signature_algorithm + ")\n";
        t += "  certificate: " +
             (s.chain_valid ? std::string("trusted for S/MIME signing")
                            : "NOT TRUSTED: " + printable(s.chain_error)) +
             "\n";
    }
    t += "From: " + join(r.from_addresses) +
         (r.from_matches ? " (matches the signer)\n" : " (does NOT match the signer)\n");
    t += r.verified() ? "Result: VERIFIED\n" : "Result: NOT VERIFIED: " + r.failure + "\n";
    return t;
}

nlohmann::json verify_json(const mail::smime::VerifyResult& r) {
    nlohmann::json signers = nlohmann::json::array();
    for (const auto& s : r.signers) {
        const auto& c = s.certificate;
        signers.push_back({{"subject", c.subject},
                           {"issuer", c.issuer},
                           {"serial", c.serial},
                           {"emails", c.emails},
                           {"not_before", c.not_before},
                           {"not_after", c.not_after},
                           {"sha256", c.sha256},
                           {"signing_time", s.signing_time},
                           {"digest_algorithm", s.digest_algorithm},
                           {"signature_algorithm", s.signature_algorithm},
                           {"signature_valid", s.signature_valid},
                           {"chain_valid", s.chain_valid},
                           {"chain_error", s.chain_error}});
    }
    return {{"verified", r.verified()}, {"failure", r.failure},           {"format", r.format},
            {"from", r.from_addresses}, {"from_matches", r.from_matches}, {"signers", signers}};
}

}  // namespace keyfence::cli
