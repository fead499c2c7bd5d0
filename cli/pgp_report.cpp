#include "cli/pgp_report.hpp"

#include "cli/smime_report.hpp"
#include "mail/mime/coverage.hpp"
#include "mail/mime/sender.hpp"

namespace keyfence::cli {
namespace {
using mail::mime::quote;

std::string quoted_list(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ", ") + quote(i);
    return s.empty() ? "(none)" : s;
}

// The user ID that names the From: address, else the first: who the signer says they are.
std::string matching_uid(const mail::pgp::SignatureInfo& s, const std::vector<std::string>& from) {
    for (std::size_t i = 0; i < s.uids.size() && i < s.addresses.size(); ++i) {
        for (const auto& a : from) {
            if (s.uids[i].find("<" + a + ">") != std::string::npos || s.uids[i] == a) {
                return s.uids[i];
            }
        }
    }
    for (const auto& uid : s.uids) {
        for (const auto& a : from) {
            if (mail::mime::ascii_lower(uid).find(a) != std::string::npos) return uid;
        }
    }
    return s.uids.empty() ? std::string() : s.uids.front();
}

std::string who(const mail::pgp::SignatureInfo& s, const std::vector<std::string>& from) {
    const std::string uid = matching_uid(s, from);
    return "key " + (s.fingerprint.empty() ? std::string("(unknown)") : printable(s.fingerprint)) +
           (uid.empty() ? std::string() : " " + quote(uid));
}

std::string part_line(const mail::pgp::SignedPartResult& p, const std::vector<std::string>& from) {
    std::string s = mail::mime::describe_path(p.path) + " (" + p.type;
    if (!p.context.empty()) s += ", " + p.context;
    s += ")";
    for (std::size_t i = 0; i < p.signers.size(); ++i) {
        s += (i == 0 ? ", signed by " : ", ") + who(p.signers[i], from);
    }
    if (!p.problem.empty()) s += ": " + p.problem;
    return s;
}

std::string key_state(const mail::pgp::SignatureInfo& s) {
    if (!s.key_known) return "NOT IN THE KEYRING";
    if (s.key_revoked) return "REVOKED";
    if (s.key_expired) return "EXPIRED (expires " + s.key_expires + ")";
    return "in the keyring, " +
           (s.key_expires.empty() ? std::string("does not expire") : "expires " + s.key_expires);
}

std::string signer_text(const mail::pgp::SignatureInfo& s, std::size_t index, std::size_t count,
                        const std::vector<std::string>& from) {
    std::string t = "Signer " + std::to_string(index) + " of " + std::to_string(count) + ":\n";
    t += "  key: " + printable(s.fingerprint) + "\n";
    if (!s.primary.empty() && s.primary != s.fingerprint) {
        t += "  primary key: " + printable(s.primary) + "\n";
    }
    const std::string uid = matching_uid(s, from);
    t += "  user ID: " + (uid.empty() ? std::string("(none)") : quote(uid)) + "\n";
    t += "  user IDs: " + quoted_list(s.uids) + "\n";
    t += "  signed at: " + (s.created.empty() ? std::string("(not stated)") : s.created) +
         (s.made_after_at ? " (AFTER the time of verification)" : "") + "\n";
    t += "  signature: " + std::string(s.good ? "valid" : "INVALID") + " (" + printable(s.status) +
         (s.hash.empty() ? "" : ", " + s.hash) + ")" +
         (s.signature_expired           ? ", EXPIRED " + s.signature_expires
          : s.signature_expires.empty() ? ""
                                        : ", expires " + s.signature_expires) +
         "\n";
    t += "  key state: " + key_state(s) + "; validity " + s.validity + "\n";
    return t;
}

nlohmann::json signers_json(const std::vector<mail::pgp::SignatureInfo>& signers) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : signers) {
        out.push_back({{"fingerprint", s.fingerprint},
                       {"primary_fingerprint", s.primary},
                       {"uids", s.uids},
                       {"addresses", s.addresses},
                       {"signature_valid", s.good},
                       {"status", s.status},
                       {"hash", s.hash},
                       {"created", s.created},
                       {"signed_after_time", s.made_after_at},
                       {"signature_expires", s.signature_expires},
                       {"signature_expired", s.signature_expired},
                       {"key_known", s.key_known},
                       {"key_revoked", s.key_revoked},
                       {"key_expires", s.key_expires},
                       {"key_expired", s.key_expired},
                       {"validity", s.validity}});
    }
    return out;
}
}  // namespace

std::string pgp_verify_text(const mail::pgp::VerifyResult& r) {
    std::string t;
    if (!r.at.empty()) t += "Verified as of: " + r.at + "\n";
    t += "From header: " +
         (!r.from_text.empty()       ? quote(r.from_text)
          : r.from_addresses.empty() ? std::string("(none)")
                                     : quoted_list(r.from_addresses)) +
         "\n";
    if (!r.sender_text.empty()) t += "Sender header: " + quote(r.sender_text) + "\n";
    if (r.signed_parts.empty()) {
        t += r.format.empty() ? "Signed: nothing\n" : "Signed: the content (" + r.format + ")\n";
    }
    for (const auto& p : r.signed_parts) t += "Signed: " + part_line(p, r.from_addresses) + "\n";
    for (const auto& [path, what] : r.unsigned_parts) {
        t += "Not signed: " + mail::mime::describe_path(path) + " (" + what + ")\n";
    }
    for (std::size_t i = 0; i < r.signers.size(); ++i) {
        t += signer_text(r.signers[i], i + 1, r.signers.size(), r.from_addresses);
    }
    if (r.verified()) {
        t += "Result: VERIFIED: the whole " +
             std::string(r.signed_parts.empty() ? "content" : "message body") + " is signed by " +
             quoted_list(r.from_addresses) + ", the From: address\n";
    } else {
        t += "Result: NOT VERIFIED (" + r.failure_code + "): " + r.failure + "\n";
    }
    return t;
}

nlohmann::json pgp_verify_json(const mail::pgp::VerifyResult& r) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : r.signed_parts) {
        parts.push_back({{"path", p.path},
                         {"type", p.type},
                         {"context", p.context},
                         {"signers", signers_json(p.signers)},
                         {"problem", p.problem}});
    }
    nlohmann::json unsigned_parts = nlohmann::json::array();
    for (const auto& [path, what] : r.unsigned_parts) {
        unsigned_parts.push_back({{"path", path}, {"type", what}});
    }
    return {{"verified", r.verified()},
            {"failure_code", r.failure_code},
            {"failure", r.failure},
            {"format", r.format},
            {"coverage", r.coverage},
            {"at", r.at},
            {"from", r.from_addresses},
            {"from_header", r.from_text},
            {"sender_header", r.sender_text},
            {"from_matches", r.from_matches},
            {"signers", signers_json(r.signers)},
            {"signed_parts", parts},
            {"unsigned_parts", unsigned_parts}};
}

std::string pgp_decrypt_text(const mail::pgp::DecryptResult& r) {
    std::string t = "Decrypted: " + r.format + " (" + (r.cipher.empty() ? "?" : r.cipher) +
                    ", integrity protected)\n";
    std::string to;
    for (const auto& k : r.recipients) to += (to.empty() ? "" : ", ") + printable(k);
    t += "Encrypted to: " + (to.empty() ? std::string("(none)") : to) + "\n";
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
