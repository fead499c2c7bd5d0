#include "engine/engine.hpp"

#include <sys/stat.h>

#include "base/logger.hpp"
#include "token/openpgp/pcsc_transport.hpp"
#include "token/pkcs11/public_key.hpp"

namespace keyfence::engine {

using token::openpgp::CardEntry;
using token::pkcs11::KeyAlgorithm;
using token::pkcs11::KeyMatch;

token::PinRequest pin_request_for(const token::pkcs11::KeyMatch& match,
                                  const OperationRequest& request) {
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
    return prompt;
}

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
      m_modules(token::pkcs11::load_modules(m_options.modules, m_options.use_registered_modules)),
      m_policy(std::move(m_options.policy)),
      m_policy_given(m_policy.has_value()) {
    if (!m_options.held_record_path.empty()) {
        m_sessions.observe_held([path = m_options.held_record_path](const auto& held) {
            record_held_sessions(path, held);
        });
    }
}

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

std::string_view protocol_name(Protocol protocol) {
    switch (protocol) {
        case Protocol::Raw:
            return "raw";
        case Protocol::Smime:
            return "s/mime";
        case Protocol::OpenPgp:
            return "openpgp";
    }
    return "raw";
}

namespace {
// What changes when a policy file is edited, replaced, created or removed.
std::string policy_stamp(const policy::PolicyPaths& paths) {
    std::string stamp;
    for (const std::string* path : {&paths.admin, &paths.user}) {
        struct stat st {};
        if (path->empty() || ::stat(path->c_str(), &st) != 0) {
            stamp += "-;";
            continue;
        }
        stamp += std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' +
                 std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
                 std::to_string(st.st_mtim.tv_nsec) + ';';
    }
    return stamp;
}
}  // namespace

base::Result<const policy::EffectivePolicy*> Engine::policy() {
    const policy::PolicyPaths paths = policy::default_policy_paths();
    std::string stamp = policy_stamp(paths);
    // A policy passed in (EngineOptions::policy) has no files behind it to follow.
    if (m_policy && (m_policy_given || stamp == m_policy_stamp)) return &*m_policy;
    if (m_policy) {
        // Sessions were opened under rules that no longer hold; the audit log may have moved.
        const std::size_t ended = m_sessions.end_all(SessionEnd::PolicyChanged);
        base::log_info("the policy changed; it is loaded again", ended > 0 ? " and " : "",
                       ended > 0 ? std::to_string(ended) + " PIN session(s) ended" : "");
        m_policy.reset();
        m_audit.reset();
        m_audit_opened = false;
    }
    KEYFENCE_TRY_ASSIGN(loaded, policy::EffectivePolicy::load(paths));
    for (const auto& warning : loaded.warnings()) base::log_warn(warning);
    m_policy = std::move(loaded);
    m_policy_stamp = std::move(stamp);
    return &*m_policy;
}

std::optional<policy::Refusal> Engine::check_policy(const KeyMatch& match,
                                                    const OperationRequest& request) {
    policy::RuleRequest rules;
    rules.sign = request.operation == Operation::Sign;
    rules.hash = request.hash;
    rules.padding = request.padding;
    rules.demo_mode = m_options.demo_mode;
    if (auto refusal = policy::check_rules(*m_policy, match, rules)) return refusal;

    const auto& key = match.key;
    if (key.roca) {
        return policy::Refusal{
            "roca_key",
            base::Error(base::ErrorCode::PolicyDenied,
                        "refused by rule 'roca_key': the RSA key " + key.uri +
                            " has the ROCA fingerprint (CVE-2017-15361): its private key can be "
                            "computed from its public key",
                        "replace the key: generate a new one on a token whose firmware is not "
                        "affected (YubiKey 4 from firmware 4.3.5), and revoke its certificate")};
    }
    if (!key.supported) {
        return policy::Refusal{
            "", base::Error(base::ErrorCode::Unsupported,
                            "the key " + key.uri + " cannot be used: " + key.unsupported_reason)};
    }
    // Refuse before any PIN is asked when the token already says the key cannot do this.
    const Operation op = request.operation;
    if (key.usages_known && op != Operation::StoreCertificate) {
        const bool allowed = op == Operation::Sign      ? key.can_sign
                             : op == Operation::Decrypt ? key.can_decrypt
                                                        : key.can_derive;
        if (!allowed) {
            return policy::Refusal{"key_usage", base::Error(base::ErrorCode::PolicyDenied,
                                                            "the key " + key.uri + " may not " +
                                                                std::string(operation_name(op)) +
                                                                " (its usage attributes)")};
        }
    }
    if (op == Operation::Derive && key.algorithm != KeyAlgorithm::Ec) {
        return policy::Refusal{
            "", base::Error(base::ErrorCode::Unsupported, "only EC keys derive shared secrets")};
    }
    return std::nullopt;
}

base::Status Engine::open_audit_log() {
    if (m_audit_opened) return {};
    const auto& settings = m_policy->values().audit;
    auto opened = audit::AuditLog::open(audit::resolve_log_path(settings.path));
    if (!opened) {
        if (settings.required) {
            return base::Error(
                base::ErrorCode::Io,
                "the audit log is required and cannot be opened: " + opened.error().message(),
                "make the log's directory writable, or ask the administrator");
        }
        base::log_warn("operations are not audited: ", opened.error().message());
    } else {
        m_audit = std::move(*opened);
    }
    m_audit_opened = true;
    return {};
}

base::Error Engine::refuse(const KeyMatch& match, const OperationRequest& request,
                           policy::Refusal refusal) {
    // A refusal is recorded, but a log that cannot take it does not hide the refusal itself.
    if (auto r = record(match, request, audit::Outcome::from_error(refusal.error, refusal.rule));
        !r) {
        base::log_warn(r.error().message());
    }
    return std::move(refusal.error);
}

base::Status Engine::record(const KeyMatch& match, const OperationRequest& request,
                            const audit::Outcome& outcome) {
    if (!m_audit) return {};  // not opened: already warned, or refused before
    audit::AuditEvent event;
    event.operation = std::string(operation_name(request.operation));
    event.protocol = std::string(protocol_name(request.protocol));
    event.key_uri = match.key.uri;
    event.key_label = match.key.label;
    event.key_fingerprint = match.key.public_key_sha256;
    event.token_label = match.token.label;
    event.token_manufacturer = match.token.manufacturer;
    event.token_model = match.token.model;
    event.token_serial = match.token.serial;
    if (request.operation == Operation::Sign) event.hash = request.hash;
    event.digest = request.content_digest;
    event.content_sha256 = request.content_sha256;
    event.message_id = request.message_id;
    event.signature_counter = request.signature_counter;
    event.caller = request.caller ? *request.caller : audit::Caller::self();
    event.outcome = outcome;
    auto written = m_audit->append(event);
    if (written) return {};
    if (m_policy->values().audit.required) {
        return base::Error(base::ErrorCode::Io,
                           "the audit record could not be written: " + written.error().message(),
                           "the policy requires the audit log (audit.required); check the disk "
                           "and 'keyfence audit verify'");
    }
    base::log_warn("the audit record could not be written: ", written.error().message());
    return {};
}

base::Result<token::pkcs11::KeyLease> Engine::authorize(const OperationRequest& request) {
    KEYFENCE_TRY_ASSIGN(match, find_key(request.key_uri));
    return authorize(std::move(match), request);
}

base::Result<token::pkcs11::KeyLease> Engine::authorize(KeyMatch match,
                                                        const OperationRequest& request) {
    KEYFENCE_TRY(policy());
    KEYFENCE_TRY(open_audit_log());
    if (auto refusal = check_policy(match, request))
        return refuse(match, request, std::move(*refusal));
    token::PinRequest prompt = pin_request_for(match, request);
    const auto& pin = m_policy->values().pin;
    const bool session_mode =
        pin.mode == policy::PinMode::Session && request.operation != Operation::StoreCertificate;
    if (pin.confirm_each_operation && request.operation != Operation::StoreCertificate) {
        KEYFENCE_TRY(confirm(match, request, prompt));
    }
    if (session_mode && !m_sessions.usable(match.token)) {
        const std::string limits = std::to_string(pin.session_ttl) + " s or " +
                                   std::to_string(pin.session_max_operations) + " operations";
        prompt.summary.emplace_back("PIN session",
                                    m_options.long_lived
                                        ? "this PIN opens a session for " + limits
                                        : "this PIN serves this command only, up to " + limits +
                                              " (keyfenced keeps sessions across commands)");
    }
    KeyMatch recorded = match;
    auto lease = token::pkcs11::KeyLease::acquire(std::move(match), *m_pin_source,
                                                  std::move(prompt), m_options.lockout);
    if (!lease) {
        if (auto r = record(recorded, request, audit::Outcome::from_error(lease.error())); !r) {
            base::log_warn(r.error().message());
        }
    } else if (session_mode) {
        m_sessions.count_operation(*lease, SessionLimits{std::chrono::seconds(pin.session_ttl),
                                                         pin.session_max_operations});
    }
    return lease;
}

base::Status Engine::confirm(const KeyMatch& match, const OperationRequest& request,
                             token::PinRequest prompt) {
    prompt.confirmation = true;
    auto confirmed = m_pin_source->confirm(prompt);
    if (!confirmed) {
        if (auto r = record(match, request, audit::Outcome::from_error(confirmed.error())); !r) {
            base::log_warn(r.error().message());
        }
    }
    return confirmed;
}

base::Result<std::vector<std::uint8_t>> Engine::sign_digest(KeyMatch match,
                                                            const OperationRequest& request,
                                                            std::span<const std::uint8_t> digest) {
    KEYFENCE_TRY_ASSIGN(hash, token::pkcs11::parse_hash(request.hash));
    KeyMatch recorded = match;
    KEYFENCE_TRY_ASSIGN(lease, authorize(std::move(match), request));
    auto signature = lease.sign_digest(hash, digest, request.padding);
    const audit::Outcome outcome =
        signature ? audit::Outcome{} : audit::Outcome::from_error(signature.error());
    auto written = record(recorded, request, outcome);
    if (!signature) {
        if (!written) base::log_warn(written.error().message());
        return signature;
    }
    if (!written) return std::move(written).error();  // audit.required: no unrecorded signature
    return signature;
}

namespace {
// An OpenPGP card key as the policy and the audit log see keys: a token whose "module" is the
// PC/SC reader (pcsc:READER, for tokens.allowed_modules/denied_modules), software when the
// card comes from the unregistered test range (keyfence-vcard).
KeyMatch card_as_key(const token::openpgp::CardEntry& entry, token::openpgp::KeySlot slot) {
    const token::openpgp::ApplicationData& card = *entry.card;
    KeyMatch match;
    match.token.module_path = "pcsc:" + entry.reader;
    match.token.present = true;
    match.token.label = "OpenPGP card " + card.serial_text();
    match.token.manufacturer = card.manufacturer_name();
    match.token.model = "OpenPGP card " + std::to_string(card.version_major) + "." +
                        std::to_string(card.version_minor);
    match.token.serial = card.serial_text();
    match.token.software = card.is_test_card();
    if (match.token.software) {
        match.token.software_reason = "an OpenPGP test card (unregistered manufacturer range)";
    }
    const auto index = static_cast<std::size_t>(slot);
    const auto& alg = card.algorithms[index];
    auto& key = match.key;
    key.uri = "openpgp:" + card.serial_text() + "/" + std::string(token::openpgp::slot_name(slot));
    key.label = std::string(token::openpgp::slot_name(slot)) + " key";
    using Kind = token::openpgp::AlgorithmAttributes::Kind;
    key.algorithm = alg.kind == Kind::Rsa       ? KeyAlgorithm::Rsa
                    : alg.kind == Kind::EdDsa   ? KeyAlgorithm::EdDsa
                    : alg.kind == Kind::Unknown ? KeyAlgorithm::Other
                                                : KeyAlgorithm::Ec;
    key.bits = alg.rsa_bits;
    key.curve = alg.curve;
    key.can_sign = slot == token::openpgp::KeySlot::Signature;
    key.can_decrypt = slot == token::openpgp::KeySlot::Decryption;
    key.can_derive = key.can_decrypt && alg.kind == Kind::Ecdh;
    key.supported = alg.kind != Kind::Unknown;
    if (!key.supported) key.unsupported_reason = "the card's key algorithm is unknown";
    return match;
}
}  // namespace

base::Result<std::vector<std::uint8_t>> Engine::sign_digest_card(
    OperationRequest request, std::span<const std::uint8_t> digest) {
    KEYFENCE_TRY(policy());
    KEYFENCE_TRY(open_audit_log());
    KEYFENCE_TRY_ASSIGN(ref, token::openpgp::parse_card_reference(request.key_uri));
    KEYFENCE_TRY_ASSIGN(hash, token::pkcs11::parse_hash(request.hash));
    if (request.operation != Operation::Sign || ref.slot != token::openpgp::KeySlot::Signature) {
        return base::Error(base::ErrorCode::Unsupported,
                           "Keyfence signs with an OpenPGP card's sig key natively; decryption "
                           "with a card goes through GnuPG or the card's PKCS#11 slot");
    }
    const auto& pin = m_policy->values().pin;
    const bool session_mode = pin.mode == policy::PinMode::Session;
    const SessionLimits limits{std::chrono::seconds(pin.session_ttl), pin.session_max_operations};
    // A PIN session on this card: its held lease signs without a PIN. The card was checked
    // (same card, still verified) by card(); a session that cannot go on has ended there.
    if (session_mode) {
        if (token::openpgp::CardLease* held = m_sessions.card(ref)) {
            CardEntry held_entry;
            held_entry.reader = held->reader();
            held_entry.card = held->card();
            KeyMatch key = card_as_key(held_entry, ref.slot);
            if (auto refusal = check_policy(key, request)) {
                return refuse(key, request, std::move(*refusal));
            }
            if (m_policy->values().pin.confirm_each_operation) {
                token::PinRequest prompt;
                prompt.operation = std::string(operation_name(request.operation));
                prompt.summary = request.summary;
                token::openpgp::describe_card(*held_entry.card, ref.slot, prompt);
                KEYFENCE_TRY(confirm(key, request, prompt));
            }
            auto signature = sign_card(*held, key, request, hash, digest);
            if (signature) {
                m_sessions.count_card_operation(ref);
            } else {
                m_sessions.end_card(ref, signature.error().code == base::ErrorCode::TokenRemoved
                                             ? SessionEnd::TokenRemoved
                                             : SessionEnd::Failed);
            }
            return signature;
        }
    }
    // One enumeration of the readers: the policy judges the card the lease then uses.
    const token::openpgp::CardListing listing = token::openpgp::list_cards();
    KEYFENCE_TRY_ASSIGN(entry, token::openpgp::find_card(listing, ref));
    KeyMatch key = card_as_key(*entry, ref.slot);
    if (auto refusal = check_policy(key, request)) return refuse(key, request, std::move(*refusal));
    token::PinRequest prompt;
    prompt.operation = std::string(operation_name(request.operation));
    prompt.summary = request.summary;
    if (m_policy->values().pin.confirm_each_operation) {
        prompt.token_label = key.token.label;
        prompt.token_model = key.token.model;
        prompt.token_manufacturer = key.token.manufacturer;
        prompt.token_serial = key.token.serial;
        prompt.key_label = key.key.label;
        KEYFENCE_TRY(confirm(key, request, prompt));
    }
    const bool hold = session_mode && entry->card &&
                      token::openpgp::CardLease::can_hold(*entry->card) &&
                      pin.session_max_operations > 1;
    if (session_mode) {
        const std::string limits_text = std::to_string(pin.session_ttl) + " s or " +
                                        std::to_string(pin.session_max_operations) + " signatures";
        prompt.summary.emplace_back(
            "PIN session",
            !hold ? std::string("none: this card asks for its PIN for each signature (its PW1 "
                                "status byte allows one signature per PIN)")
            : m_options.long_lived
                ? "this PIN opens a session for " + limits_text +
                      "; the card stays verified and reserved to Keyfence until it ends"
                : "this PIN serves this program only, up to " + limits_text +
                      " (keyfenced keeps sessions across commands)");
    }
    auto lease = token::openpgp::CardLease::acquire(*entry, ref.slot, *m_pin_source,
                                                    std::move(prompt), m_options.lockout, hold);
    if (!lease) {
        if (auto r = record(key, request, audit::Outcome::from_error(lease.error())); !r) {
            base::log_warn(r.error().message());
        }
        return std::move(lease).error();
    }
    auto signature = sign_card(*lease, key, request, hash, digest);
    if (signature && lease->holds_verified()) m_sessions.open_card(std::move(*lease), limits);
    return signature;
}

base::Result<std::vector<std::uint8_t>> Engine::sign_card(token::openpgp::CardLease& lease,
                                                          KeyMatch key, OperationRequest request,
                                                          token::pkcs11::Hash hash,
                                                          std::span<const std::uint8_t> digest) {
    key.key.public_key_sha256 =
        token::pkcs11::sha256_hex(token::pkcs11::spki_der(lease.public_key()));
    auto signature = lease.sign_digest(hash, digest);
    request.signature_counter = lease.signature_counter();
    const audit::Outcome outcome =
        signature ? audit::Outcome{} : audit::Outcome::from_error(signature.error());
    auto written = record(key, request, outcome);
    if (!signature) {
        if (!written) base::log_warn(written.error().message());
        return signature;
    }
    if (!written) return std::move(written).error();  // audit.required: no unrecorded signature
    return signature;
}

base::Result<base::EvpPkeyPtr> Engine::card_public_key(const std::string& reference) const {
    KEYFENCE_TRY_ASSIGN(ref, token::openpgp::parse_card_reference(reference));
    const token::openpgp::CardListing listing = token::openpgp::list_cards();
    KEYFENCE_TRY_ASSIGN(entry, token::openpgp::find_card(listing, ref));
    KEYFENCE_TRY_ASSIGN(context, token::pcsc::Context::establish());
    KEYFENCE_TRY_ASSIGN(connection, token::pcsc::CardConnection::connect(context, entry->reader));
    token::openpgp::PcscTransport transport(connection);
    token::openpgp::Channel channel(transport);
    KEYFENCE_TRY_ASSIGN(card, token::openpgp::OpenPgpCard::select(channel));
    return card.public_key(ref.slot);
}

}  // namespace keyfence::engine
