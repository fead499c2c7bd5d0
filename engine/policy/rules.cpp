#include "engine/policy/rules.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace keyfence::engine::policy {

namespace p11 = token::pkcs11;

namespace {

// The refusal by the setting `rule`: its message, and a hint saying where the rule was set.
Refusal refusal(const EffectivePolicy& policy, const std::string& rule, const std::string& why,
                const std::string& what_to_use) {
    const Setting& s = policy.setting(rule);
    std::string hint = "the rule comes from " + s.source.describe();
    hint += s.locked_by ? " and locked by the administrator; ask them, or use " + what_to_use +
                              " the policy allows"
                        : "; use " + what_to_use + " the policy allows ('keyfence policy show')";
    return {rule, base::Error(base::ErrorCode::PolicyDenied,
                              "refused by rule '" + rule + "': " + why, std::move(hint))};
}

class Checker {
  public:
    Checker(const EffectivePolicy& policy, const p11::KeyMatch& match, const RuleRequest& request)
        : m_policy(policy), m_p(policy.values()), m_match(match), m_request(request) {}

    std::optional<Refusal> run() {
        if (auto r = demo()) return r;
        if (auto r = hardware()) return r;
        if (auto r = modules()) return r;
        if (auto r = models_and_serials()) return r;
        if (auto r = key_algorithm()) return r;
        if (m_request.sign) return signature();
        return std::nullopt;
    }

  private:
    // The message and hint of a refusal by the setting `rule`.
    Refusal refuse(const std::string& rule, const std::string& why) const {
        return refusal(m_policy, rule, why, "a key and token");
    }

    std::string token_name() const {
        const auto& t = m_match.token;
        return "the token '" + t.label + "' (model '" + t.model + "', serial '" + t.serial + "')";
    }

    std::optional<Refusal> demo() const {
        const auto& t = m_match.token;
        if (!t.demo) return std::nullopt;
        if (!m_request.demo_mode) {
            // Keyfence's own rule, older than the policy: kept word for word.
            return Refusal{"demo_token",
                           base::Error(base::ErrorCode::PolicyDenied,
                                       "refused by rule 'demo_token': '" + t.label +
                                           "' is Keyfence's software demo token, whose keys are "
                                           "files on this computer",
                                       "use a hardware token, or pass --demo to try Keyfence on "
                                       "the demo token")};
        }
        if (!m_p.tokens.allow_demo) {
            return refuse("tokens.allow_demo",
                          "demo mode is not allowed here, so the software demo token '" + t.label +
                              "' may not be used even with --demo");
        }
        return std::nullopt;
    }

    std::optional<Refusal> hardware() const {
        if (!m_p.tokens.require_hardware) return std::nullopt;
        const auto& t = m_match.token;
        std::string reason;
        if (t.software) {
            reason =
                t.software_reason.empty() ? "Keyfence knows it as software" : t.software_reason;
        } else if (module_matches_any(m_p.tokens.software_modules, t.module_path)) {
            reason = "its module " + t.module_path + " is listed in tokens.software_modules";
        } else if (matches_any(m_p.tokens.software_models, t.model)) {
            reason = "its model is listed in tokens.software_models";
        } else {
            return std::nullopt;
        }
        return refuse("tokens.require_hardware", token_name() + " is a software token (" + reason +
                                                     "); only hardware tokens may be used");
    }

    std::optional<Refusal> modules() const {
        const std::string& path = m_match.token.module_path;
        if (module_matches_any(m_p.tokens.denied_modules, path)) {
            return refuse("tokens.denied_modules", "the PKCS#11 module " + path + " is denied");
        }
        if (!module_matches_any(m_p.tokens.allowed_modules, path)) {
            return refuse("tokens.allowed_modules",
                          "the PKCS#11 module " + path + " is not among the allowed modules");
        }
        return std::nullopt;
    }

    std::optional<Refusal> models_and_serials() const {
        const auto& t = m_match.token;
        if (matches_any(m_p.tokens.denied_models, t.model)) {
            return refuse("tokens.denied_models", token_name() + " has a denied model");
        }
        if (!matches_any(m_p.tokens.allowed_models, t.model)) {
            return refuse("tokens.allowed_models", token_name() + " is not an allowed model");
        }
        if (matches_any(m_p.tokens.denied_serials, t.serial)) {
            return refuse("tokens.denied_serials", token_name() + " has a denied serial number");
        }
        if (!matches_any(m_p.tokens.allowed_serials, t.serial)) {
            return refuse("tokens.allowed_serials",
                          token_name() + " does not have an allowed serial number");
        }
        return std::nullopt;
    }

    std::optional<Refusal> key_algorithm() const {
        const auto& k = m_match.key;
        if (k.algorithm == p11::KeyAlgorithm::Rsa && k.bits < m_p.algorithms.min_rsa_bits) {
            return refuse("algorithms.min_rsa_bits",
                          "the key '" + k.label + "' is RSA-" + std::to_string(k.bits) +
                              "; the policy requires at least " +
                              std::to_string(m_p.algorithms.min_rsa_bits) + " bits");
        }
        const auto& curves = m_p.algorithms.allowed_curves;
        if (k.algorithm == p11::KeyAlgorithm::Ec &&
            std::find(curves.begin(), curves.end(), k.curve) == curves.end()) {
            return refuse("algorithms.allowed_curves", "the key '" + k.label + "' uses the curve " +
                                                           k.curve + ", which is not allowed");
        }
        return std::nullopt;
    }

    std::optional<Refusal> signature() const {
        const auto& hashes = m_p.algorithms.allowed_hashes;
        if (std::find(hashes.begin(), hashes.end(), m_request.hash) == hashes.end()) {
            return refuse("algorithms.allowed_hashes",
                          "signing with " + m_request.hash + " is not allowed");
        }
        if (m_match.key.algorithm != p11::KeyAlgorithm::Rsa) return std::nullopt;
        const std::string padding = m_request.padding == p11::SignPadding::Pss ? "pss" : "pkcs1";
        const auto& allowed = m_p.algorithms.rsa_signing_padding;
        if (std::find(allowed.begin(), allowed.end(), padding) == allowed.end()) {
            return refuse("algorithms.rsa_signing_padding",
                          "RSA signatures with " +
                              std::string(padding == "pss" ? "RSA-PSS" : "PKCS#1 v1.5") +
                              " padding are not allowed");
        }
        return std::nullopt;
    }

    const EffectivePolicy& m_policy;
    const Policy& m_p;
    const p11::KeyMatch& m_match;
    const RuleRequest& m_request;
};

}  // namespace

bool matches_any(const std::vector<std::string>& patterns, const std::string& text) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
        return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
    });
}

bool module_matches_any(const std::vector<std::string>& patterns, const std::string& module_path) {
    const auto slash = module_path.rfind('/');
    const std::string file =
        slash == std::string::npos ? module_path : module_path.substr(slash + 1);
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
        const std::string& subject = pattern.find('/') != std::string::npos ? module_path : file;
        return ::fnmatch(pattern.c_str(), subject.c_str(), 0) == 0;
    });
}

std::optional<Refusal> check_rules(const EffectivePolicy& policy, const p11::KeyMatch& match,
                                   const RuleRequest& request) {
    return Checker(policy, match, request).run();
}

std::optional<Refusal> check_smime_cipher(const EffectivePolicy& policy,
                                          const std::string& cipher) {
    const auto& allowed = policy.values().algorithms.smime_content_ciphers;
    if (std::find(allowed.begin(), allowed.end(), cipher) != allowed.end()) return std::nullopt;
    return refusal(policy, "algorithms.smime_content_ciphers",
                   "the content cipher " + cipher + " is not allowed for new mail", "a cipher");
}

std::optional<Refusal> check_openpgp_integrity(const EffectivePolicy& policy) {
    if (policy.values().algorithms.openpgp_integrity != OpenPgpIntegrity::Aead) return std::nullopt;
    return refusal(policy, "algorithms.openpgp_integrity",
                   "the policy requires AEAD-protected OpenPGP messages, which the GnuPG 2.2 "
                   "Keyfence runs with can neither write nor read",
                   "an integrity setting");
}

}  // namespace keyfence::engine::policy
