#pragma once
// The typed view of the effective policy: what the engine enforces, and what the S/MIME,
// OpenPGP, PIN-session and mail code read (see docs/policy.md for every key).

#include <cstdint>
#include <string>
#include <vector>

namespace keyfence::engine::policy {

enum class PinMode { PerOperation, Session };
enum class MailSign { Always, Never };
enum class MailEncrypt { WhenPossible, Always, Never };
enum class OpenPgpIntegrity { Mdc, Aead };

struct Policy {
    struct Tokens {
        bool require_hardware = false;
        bool allow_demo = true;  ///< demo mode (--demo) is possible at all
        std::vector<std::string> software_modules;
        std::vector<std::string> software_models;
        std::vector<std::string> allowed_modules{"*"};
        std::vector<std::string> denied_modules;
        std::vector<std::string> allowed_models{"*"};
        std::vector<std::string> denied_models;
        std::vector<std::string> allowed_serials{"*"};
        std::vector<std::string> denied_serials;
    } tokens;
    struct Algorithms {
        std::int64_t min_rsa_bits = 2048;
        std::vector<std::string> allowed_curves{"P-256", "P-384", "P-521"};
        std::vector<std::string> allowed_hashes{"sha256", "sha384", "sha512"};
        std::vector<std::string> rsa_signing_padding{"pkcs1", "pss"};
        /// Enforced by the S/MIME code: content-encryption ciphers it may use or accept.
        std::vector<std::string> smime_content_ciphers{"aes-128-gcm", "aes-256-gcm", "aes-128-cbc",
                                                       "aes-256-cbc"};
        /// Enforced by the OpenPGP code: the least integrity protection a message must have.
        OpenPgpIntegrity openpgp_integrity = OpenPgpIntegrity::Mdc;
    } algorithms;
    struct Pin {
        PinMode mode = PinMode::PerOperation;
        std::int64_t session_ttl = 300;  ///< seconds
        std::int64_t session_max_operations = 20;
        bool confirm_each_operation = false;
    } pin;
    struct Mail {
        MailSign sign = MailSign::Always;
        MailEncrypt encrypt = MailEncrypt::WhenPossible;
    } mail;
    struct Audit {
        std::string path;  ///< empty: ${XDG_STATE_HOME:-~/.local/state}/keyfence/audit.log
        bool required = false;
    } audit;
};

}  // namespace keyfence::engine::policy
