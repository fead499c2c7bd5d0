#include "cli/smime_report.hpp"

#include "mail/mime/coverage.hpp"
#include "mail/mime/sender.hpp"

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
using mail::mime::quote;

std::string quoted_list(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ", ") + quote(i);
    return s.empty() ? "(none)" : s;
}

std::string part_line(const mail::smime::SignedPartResult& p) {
    std::string s = mail::mime::describe_path(p.path) + " (" + p.type;
    if (!p.context.empty()) s += ", " + p.context;
    s += ")";
    for (std::size_t i = 0; i < p.signers.size(); ++i) {
        const auto& emails = p.signers[i].certificate.emails;
        s += (i == 0 ? ", signed by " : ", ") +
             quote(emails.empty() ? p.signers[i].certificate.subject : emails.front());
    }
    if (!p.problem.empty()) s += ": " + p.problem;
    return s;
}

std::string signer_text(const mail::smime::SignerResult& s, std::size_t index, std::size_t count) {
    const auto& c = s.certificate;
    std::string t = "Signer " + std::to_string(index) + " of " + std::to_string(count) + ":\n";
    t += "  certificate subject: " + quote(c.subject) + "\n";
    t += "  addresses: " + quoted_list(c.emails) + "\n";
    t += "  issuer: " + quote(c.issuer) + "\n";
    t += "  valid: " + c.not_before + " to " + c.not_after + "\n";
    t += "  signed at: " + (s.signing_time.empty() ? std::string("(not stated)") : s.signing_time) +
         "\n";
    t += "  signature: " + std::string(s.signature_valid ? "valid" : "INVALID") + " (" +
         s.digest_algorithm + ", " + s.signature_algorithm + ")\n";
    t += "  certificate: " +
         (s.chain_valid ? std::string("trusted for S/MIME signing")
          : s.expired   ? "EXPIRED: " + s.chain_error
                        : "NOT TRUSTED: " + s.chain_error) +
         "\n";
    return t;
}

// Strings from the message or a certificate may hold any bytes; JSON needs UTF-8.
std::string utf8(const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

nlohmann::json json_string(const std::string& s) {
    return nlohmann::json::parse(utf8(s));
}

nlohmann::json json_strings(const std::vector<std::string>& items) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& i : items) a.push_back(json_string(i));
    return a;
}

nlohmann::json signers_json(const std::vector<mail::smime::SignerResult>& signers) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : signers) {
        const auto& c = s.certificate;
        out.push_back({{"subject", json_string(c.subject)},
                       {"issuer", json_string(c.issuer)},
                       {"serial", c.serial},
                       {"emails", json_strings(c.emails)},
                       {"names", json_strings(s.names)},
                       {"not_before", c.not_before},
                       {"not_after", c.not_after},
                       {"sha256", c.sha256},
                       {"signing_time", s.signing_time},
                       {"digest_algorithm", s.digest_algorithm},
                       {"signature_algorithm", s.signature_algorithm},
                       {"signature_valid", s.signature_valid},
                       {"chain_valid", s.chain_valid},
                       {"expired", s.expired},
                       {"chain_error", s.chain_error}});
    }
    return out;
}
}  // namespace

std::string verify_text(const mail::smime::VerifyResult& r) {
    std::string t = "Verified as of: " + r.at + "\n";
    t +=
        "From header: " + (r.from_text.empty() ? std::string("(none)") : quote(r.from_text)) + "\n";
    if (!r.sender_text.empty()) t += "Sender header: " + quote(r.sender_text) + "\n";
    if (r.signed_parts.empty()) t += "Signed: nothing\n";
    for (const auto& p : r.signed_parts) t += "Signed: " + part_line(p) + "\n";
    for (const auto& [path, type] : r.unsigned_parts) {
        t += "Not signed: " + mail::mime::describe_path(path) + " (" + type + ")\n";
    }
    for (std::size_t i = 0; i < r.signers.size(); ++i) {
        t += signer_text(r.signers[i], i + 1, r.signers.size());
    }
    if (r.verified()) {
        t += "Result: VERIFIED: the whole message body is signed by " +
             quoted_list(r.from_addresses) + ", the From: address\n";
    } else {
        t += "Result: NOT VERIFIED (" + r.failure_code + "): " + r.failure + "\n";
    }
    return t;
}

nlohmann::json verify_json(const mail::smime::VerifyResult& r) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : r.signed_parts) {
        parts.push_back({{"path", p.path},
                         {"type", json_string(p.type)},
                         {"context", p.context},
                         {"signers", signers_json(p.signers)},
                         {"problem", json_string(p.problem)}});
    }
    nlohmann::json unsigned_parts = nlohmann::json::array();
    for (const auto& [path, type] : r.unsigned_parts) {
        unsigned_parts.push_back({{"path", path}, {"type", json_string(type)}});
    }
    return {{"verified", r.verified()},
            {"failure_code", r.failure_code},
            {"failure", json_string(r.failure)},
            {"format", r.format},
            {"coverage", r.coverage},
            {"at", r.at},
            {"from", json_strings(r.from_addresses)},
            {"from_header", json_string(r.from_text)},
            {"sender_header", json_string(r.sender_text)},
            {"from_matches", r.from_matches},
            {"signers", signers_json(r.signers)},
            {"signed_parts", parts},
            {"unsigned_parts", unsigned_parts}};
}

}  // namespace keyfence::cli
