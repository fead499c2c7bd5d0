#include "engine/policy/schema.hpp"

#include <algorithm>
#include <array>

namespace keyfence::engine::policy {

namespace {
using std::string_view_literals::operator""sv;

// The names Keyfence's token layer gives curves (OpenSSL's, with NIST names where they exist).
constexpr std::array k_curves = {"P-256"sv,          "P-384"sv,           "P-521"sv,
                                 "secp256k1"sv,      "brainpoolP256r1"sv, "brainpoolP384r1"sv,
                                 "brainpoolP512r1"sv};
constexpr std::array k_hashes = {"sha256"sv, "sha384"sv, "sha512"sv};
constexpr std::array k_paddings = {"pkcs1"sv, "pss"sv};
constexpr std::array k_ciphers = {"aes-128-gcm"sv, "aes-192-gcm"sv, "aes-256-gcm"sv,
                                  "aes-128-cbc"sv, "aes-192-cbc"sv, "aes-256-cbc"sv,
                                  "des-ede3-cbc"sv};
constexpr std::array k_integrity = {"mdc"sv, "aead"sv};
constexpr std::array k_pin_modes = {"per-operation"sv, "session"sv};
constexpr std::array k_mail_sign = {"always"sv, "never"sv};
constexpr std::array k_mail_encrypt = {"when-possible"sv, "always"sv, "never"sv};
constexpr std::span<const std::string_view> k_any;

// The built-in defaults are the initializers of struct Policy; the schema reads them from there
// so that they are written down once.
const Policy k_defaults{};

const std::vector<std::string>& list(const Value& v) {
    return std::get<std::vector<std::string>>(v);
}
const std::string& str(const Value& v) {
    return std::get<std::string>(v);
}
bool flag(const Value& v) {
    return std::get<bool>(v);
}
std::int64_t integer(const Value& v) {
    return std::get<std::int64_t>(v);
}

template <class Enum, std::size_t N>
Enum enum_from(const std::array<std::string_view, N>& names, const Value& v) {
    const auto it = std::find(names.begin(), names.end(), str(v));
    return static_cast<Enum>(it - names.begin());
}
template <class Enum, std::size_t N>
Value enum_to(const std::array<std::string_view, N>& names, Enum e) {
    return std::string(names[static_cast<std::size_t>(e)]);
}

// A list of glob patterns in [tokens]: any non-empty strings.
#define KEYFENCE_POLICY_LIST(T, K)                                           \
    .table = #T, .key = #K, .kind = ValueKind::StringList,                   \
    .default_value = [] { return Value(k_defaults.T.K); }, .choices = k_any, \
    .apply = [](Policy& p, const Value& v) { p.T.K = list(v); }

const std::array k_schema = {
    // [tokens]
    KeySpec{.table = "tokens",
            .key = "require_hardware",
            .kind = ValueKind::Bool,
            .default_value = [] { return Value(k_defaults.tokens.require_hardware); },
            .apply = [](Policy& p, const Value& v) { p.tokens.require_hardware = flag(v); },
            .meaning = "refuse software tokens: those Keyfence knows (SoftHSM, NSS, the demo "
                       "token, the virtual test card) and those software_modules and "
                       "software_models list"},
    KeySpec{.table = "tokens",
            .key = "allow_demo",
            .kind = ValueKind::Bool,
            .default_value = [] { return Value(k_defaults.tokens.allow_demo); },
            .apply = [](Policy& p, const Value& v) { p.tokens.allow_demo = flag(v); },
            .meaning = "whether --demo may unlock Keyfence's software demo token"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, software_modules),
            .meaning = "glob patterns of PKCS#11 modules to treat as software"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, software_models),
            .meaning = "glob patterns of token models to treat as software"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, allowed_modules),
            .meaning = "glob patterns of the PKCS#11 modules whose keys may be used"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, denied_modules),
            .meaning = "glob patterns of PKCS#11 modules whose keys must not be used"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, allowed_models),
            .meaning = "glob patterns of the token models that may be used"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, denied_models),
            .meaning = "glob patterns of token models that must not be used"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, allowed_serials),
            .meaning = "glob patterns of the token serial numbers that may be used"},
    KeySpec{KEYFENCE_POLICY_LIST(tokens, denied_serials),
            .meaning = "glob patterns of token serial numbers that must not be used"},
    // [algorithms]
    KeySpec{.table = "algorithms",
            .key = "min_rsa_bits",
            .kind = ValueKind::Integer,
            .default_value = [] { return Value(k_defaults.algorithms.min_rsa_bits); },
            .min = 1024,
            .max = 16384,
            .apply = [](Policy& p, const Value& v) { p.algorithms.min_rsa_bits = integer(v); },
            .meaning = "the smallest RSA modulus, in bits, a key may have"},
    KeySpec{.table = "algorithms",
            .key = "allowed_curves",
            .kind = ValueKind::StringList,
            .default_value = [] { return Value(k_defaults.algorithms.allowed_curves); },
            .choices = k_curves,
            .apply = [](Policy& p, const Value& v) { p.algorithms.allowed_curves = list(v); },
            .meaning = "the elliptic curves an EC key may use"},
    KeySpec{.table = "algorithms",
            .key = "allowed_hashes",
            .kind = ValueKind::StringList,
            .default_value = [] { return Value(k_defaults.algorithms.allowed_hashes); },
            .choices = k_hashes,
            .apply = [](Policy& p, const Value& v) { p.algorithms.allowed_hashes = list(v); },
            .meaning = "the hashes a signature may be made over"},
    KeySpec{.table = "algorithms",
            .key = "rsa_signing_padding",
            .kind = ValueKind::StringList,
            .default_value = [] { return Value(k_defaults.algorithms.rsa_signing_padding); },
            .choices = k_paddings,
            .apply = [](Policy& p, const Value& v) { p.algorithms.rsa_signing_padding = list(v); },
            .meaning = "the RSA signature paddings allowed: pkcs1 (PKCS#1 v1.5), pss"},
    KeySpec{
        .table = "algorithms",
        .key = "smime_content_ciphers",
        .kind = ValueKind::StringList,
        .default_value = [] { return Value(k_defaults.algorithms.smime_content_ciphers); },
        .choices = k_ciphers,
        .apply = [](Policy& p, const Value& v) { p.algorithms.smime_content_ciphers = list(v); },
        .meaning = "S/MIME content-encryption ciphers used and accepted (enforced by the "
                   "S/MIME code)"},
    KeySpec{.table = "algorithms",
            .key = "openpgp_integrity",
            .kind = ValueKind::String,
            .default_value =
                [] { return enum_to(k_integrity, k_defaults.algorithms.openpgp_integrity); },
            .choices = k_integrity,
            .apply =
                [](Policy& p, const Value& v) {
                    p.algorithms.openpgp_integrity = enum_from<OpenPgpIntegrity>(k_integrity, v);
                },
            .meaning = "least OpenPGP integrity protection: mdc (MDC or AEAD), aead (AEAD only; "
                       "enforced by the OpenPGP code)"},
    // [pin]
    KeySpec{
        .table = "pin",
        .key = "mode",
        .kind = ValueKind::String,
        .default_value = [] { return enum_to(k_pin_modes, k_defaults.pin.mode); },
        .choices = k_pin_modes,
        .apply = [](Policy& p, const Value& v) { p.pin.mode = enum_from<PinMode>(k_pin_modes, v); },
        .meaning = "per-operation: a PIN for every operation; session: one PIN for a session "
                   "(kept by the agent)"},
    KeySpec{.table = "pin",
            .key = "session_ttl",
            .kind = ValueKind::Integer,
            .default_value = [] { return Value(k_defaults.pin.session_ttl); },
            .min = 1,
            .max = 86400,
            .apply = [](Policy& p, const Value& v) { p.pin.session_ttl = integer(v); },
            .meaning = "seconds a PIN session lasts"},
    KeySpec{.table = "pin",
            .key = "session_max_operations",
            .kind = ValueKind::Integer,
            .default_value = [] { return Value(k_defaults.pin.session_max_operations); },
            .min = 1,
            .max = 100000,
            .apply = [](Policy& p, const Value& v) { p.pin.session_max_operations = integer(v); },
            .meaning = "operations a PIN session allows before it ends"},
    KeySpec{.table = "pin",
            .key = "confirm_each_operation",
            .kind = ValueKind::Bool,
            .default_value = [] { return Value(k_defaults.pin.confirm_each_operation); },
            .apply = [](Policy& p, const Value& v) { p.pin.confirm_each_operation = flag(v); },
            .meaning = "ask for an explicit confirmation of each operation, even inside a "
                       "PIN session"},
    // [mail]
    KeySpec{.table = "mail",
            .key = "sign",
            .kind = ValueKind::String,
            .default_value = [] { return enum_to(k_mail_sign, k_defaults.mail.sign); },
            .choices = k_mail_sign,
            .apply = [](Policy& p,
                        const Value& v) { p.mail.sign = enum_from<MailSign>(k_mail_sign, v); },
            .meaning = "sign outgoing mail: always or never"},
    KeySpec{
        .table = "mail",
        .key = "encrypt",
        .kind = ValueKind::String,
        .default_value = [] { return enum_to(k_mail_encrypt, k_defaults.mail.encrypt); },
        .choices = k_mail_encrypt,
        .apply = [](Policy& p,
                    const Value& v) { p.mail.encrypt = enum_from<MailEncrypt>(k_mail_encrypt, v); },
        .meaning = "encrypt outgoing mail: when-possible (every recipient has a key), "
                   "always (refuse to send otherwise), never"},
    // [audit]
    KeySpec{.table = "audit",
            .key = "path",
            .kind = ValueKind::String,
            .default_value = [] { return Value(k_defaults.audit.path); },
            .is_path = true,
            .apply = [](Policy& p, const Value& v) { p.audit.path = str(v); },
            .meaning = "the audit log; empty: ${XDG_STATE_HOME:-~/.local/state}/keyfence/"
                       "audit.log; \"~/\" is the user's home"},
    KeySpec{.table = "audit",
            .key = "required",
            .kind = ValueKind::Bool,
            .default_value = [] { return Value(k_defaults.audit.required); },
            .apply = [](Policy& p, const Value& v) { p.audit.required = flag(v); },
            .meaning = "fail an operation whose audit record cannot be written (else warn)"},
};
#undef KEYFENCE_POLICY_LIST

std::string quoted_choices(std::span<const std::string_view> choices) {
    std::string s;
    for (const auto c : choices) s += (s.empty() ? "\"" : ", \"") + std::string(c) + "\"";
    return s;
}

ValueProblem check_string(const KeySpec& spec, const std::string& s) {
    if (spec.is_path) {
        if (s.empty() || s.front() == '/' || s.starts_with("~/")) return {};
        return {"must be an absolute path or start with \"~/\""};
    }
    if (spec.choices.empty()) {
        if (s.empty()) return {"must not be empty"};
        return {};
    }
    if (std::find(spec.choices.begin(), spec.choices.end(), s) != spec.choices.end()) return {};
    return {"\"" + s + "\" is not one of " + quoted_choices(spec.choices)};
}
}  // namespace

std::string_view kind_name(ValueKind kind) {
    switch (kind) {
        case ValueKind::Bool:
            return "a boolean";
        case ValueKind::Integer:
            return "an integer";
        case ValueKind::String:
            return "a string";
        case ValueKind::StringList:
            return "an array of strings";
    }
    return "?";
}

std::string KeySpec::name() const {
    return std::string(table) + "." + std::string(key);
}

std::span<const KeySpec> schema() {
    return k_schema;
}

const KeySpec* find_spec(std::string_view table, std::string_view key) {
    for (const KeySpec& spec : k_schema) {
        if (spec.table == table && spec.key == key) return &spec;
    }
    return nullptr;
}

bool is_table(std::string_view table) {
    return std::any_of(k_schema.begin(), k_schema.end(),
                       [&](const KeySpec& s) { return s.table == table; });
}

ValueProblem check_value(const KeySpec& spec, const Value& value) {
    switch (spec.kind) {
        case ValueKind::Bool:
            return {};
        case ValueKind::Integer: {
            const auto n = integer(value);
            if (n < spec.min || n > spec.max) {
                return {"must be between " + std::to_string(spec.min) + " and " +
                        std::to_string(spec.max) + ", not " + std::to_string(n)};
            }
            return {};
        }
        case ValueKind::String:
            return check_string(spec, str(value));
        case ValueKind::StringList: {
            const auto& items = list(value);
            for (std::size_t i = 0; i < items.size(); ++i) {
                ValueProblem p = check_string(spec, items[i]);
                if (!p.message.empty()) return {std::move(p.message), static_cast<int>(i)};
            }
            return {};
        }
    }
    return {};
}

}  // namespace keyfence::engine::policy
