#include "engine/engine.hpp"

namespace keyfence::engine {

using token::pkcs11::KeyAlgorithm;
using token::pkcs11::KeyMatch;

std::string_view operation_name(Operation op) {
    switch (op) {
        case Operation::Sign:
            return "sign";
        case Operation::Decrypt:
            return "decrypt";
        case Operation::Derive:
            return "derive";
        case Operation::StoreCertificate:
            return "store a certificate for";
    }
    return "sign";
}

Engine::Engine(EngineOptions options, std::unique_ptr<token::PinSource> pin_source)
    : m_options(std::move(options)),
      m_pin_source(std::move(pin_source)),
      m_modules(token::pkcs11::load_modules(m_options.modules, m_options.use_registered_modules)) {}

std::vector<token::pkcs11::TokenEntry> Engine::tokens(
    std::vector<token::pkcs11::ModuleFailure>& failures) const {
    return token::pkcs11::list_tokens(m_modules, failures);
}

base::Result<std::vector<KeyMatch>> Engine::keys(
    const std::string& token_uri, std::vector<token::pkcs11::ModuleFailure>& failures) const {
    if (token_uri.empty()) return token::pkcs11::list_keys(m_modules, nullptr, failures);
    KEYFENCE_TRY_ASSIGN(uri, token::pkcs11::Uri::parse(token_uri));
    return token::pkcs11::list_keys(m_modules, &uri, failures);
}

base::Result<KeyMatch> Engine::find_key(const std::string& key_uri) const {
    KEYFENCE_TRY_ASSIGN(uri, token::pkcs11::Uri::parse(key_uri));
    return token::pkcs11::select_key(m_modules, uri);
}

base::Status Engine::check_policy(const KeyMatch& match, Operation op) const {
    if (match.token.demo && !m_options.demo_mode) {
        return base::Error(base::ErrorCode::PolicyDenied,
                           "refused by rule 'demo_token': '" + match.token.label +
                               "' is Keyfence's software demo token, whose keys are files on "
                               "this computer",
                           "use a hardware token, or pass --demo to try Keyfence on the demo "
                           "token");
    }
    const auto& key = match.key;
    if (!key.supported) {
        return base::Error(base::ErrorCode::Unsupported,
                           "the key " + key.uri + " cannot be used: " + key.unsupported_reason);
    }
    // Refuse before any PIN is asked when the token already says the key cannot do this.
    if (key.usages_known && op != Operation::StoreCertificate) {
        const bool allowed = op == Operation::Sign      ? key.can_sign
                             : op == Operation::Decrypt ? key.can_decrypt
                                                        : key.can_derive;
        if (!allowed) {
            return base::Error(base::ErrorCode::PolicyDenied, "the key " + key.uri + " may not " +
                                                                  std::string(operation_name(op)) +
                                                                  " (its usage attributes)");
        }
    }
    if (op == Operation::Derive && key.algorithm != KeyAlgorithm::Ec) {
        return base::Error(base::ErrorCode::Unsupported, "only EC keys derive shared secrets");
    }
    return {};
}

base::Result<token::pkcs11::KeyLease> Engine::authorize(const OperationRequest& request) {
    KEYFENCE_TRY_ASSIGN(match, find_key(request.key_uri));
    return authorize(std::move(match), request);
}

base::Result<token::pkcs11::KeyLease> Engine::authorize(KeyMatch match,
                                                        const OperationRequest& request) {
    KEYFENCE_TRY(check_policy(match, request.operation));
    token::PinRequest prompt;
    prompt.token_label = match.token.label;
    prompt.token_model = match.token.model;
    prompt.token_manufacturer = match.token.manufacturer;
    prompt.token_serial = match.token.serial;
    prompt.token_is_software = match.token.software;
    prompt.key_label = match.key.label;
    prompt.key_fingerprint = match.key.public_key_sha256;
    prompt.operation = std::string(operation_name(request.operation));
    prompt.summary = request.summary;
    return token::pkcs11::KeyLease::acquire(std::move(match), *m_pin_source, std::move(prompt),
                                            m_options.lockout);
}

}  // namespace keyfence::engine
