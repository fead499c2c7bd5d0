#pragma once
// The engine: the broker every private-key operation passes through. It resolves the key,
// applies the rules that can refuse before any PIN is asked, builds the prompt that names what
// is being signed, and hands back a one-operation key lease.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "engine/audit/audit_log.hpp"
#include "engine/held_record.hpp"
#include "engine/policy/effective_policy.hpp"
#include "engine/policy/rules.hpp"
#include "engine/session.hpp"
#include "token/openpgp/card_lease.hpp"
#include "token/pin/lockout_guard.hpp"
#include "token/pin/pin_source.hpp"
#include "token/pkcs11/key_lease.hpp"
#include "token/pkcs11/registry.hpp"

namespace keyfence::engine {

/// StoreCertificate: write a certificate beside the key (enrollment); needs a login, no usage.
enum class Operation { Sign, Decrypt, Derive, StoreCertificate };
std::string_view operation_name(Operation op);

/// The protocol an operation serves, for the audit log.
enum class Protocol { Raw, Smime, OpenPgp };
std::string_view protocol_name(Protocol protocol);  ///< "raw", "s/mime", "openpgp"

struct EngineOptions {
    std::vector<std::string> modules;    ///< --module PATH, repeatable
    bool use_registered_modules = true;  ///< the modules registered with p11-kit
    bool demo_mode = false;              ///< --demo: the software demo token may be used
    token::LockoutOptions lockout;
    /// The policy to enforce. When empty, the engine loads the administrator's and the user's
    /// files (policy::default_policy_paths()) the first time it needs them; tests and the
    /// agent pass one in.
    std::optional<policy::EffectivePolicy> policy;
    /// The agent's engine, whose PIN sessions outlive a command (the prompt says which).
    bool long_lived = false;
    /// The agent's record of its held (PGP/MIME) sessions (engine/held_record.hpp), kept up
    /// to date while they change; empty: none is kept.
    std::string held_record_path;
};

/// What the user is asked to authorize, shown in the PIN prompt.
struct OperationRequest {
    Operation operation = Operation::Sign;
    std::string key_uri;
    /// The message or content, as label/value lines (File, Size, SHA-256; later From, To...).
    std::vector<std::pair<std::string, std::string>> summary;
    Protocol protocol = Protocol::Raw;
    /// Signing: the hash the digest was made with ("sha256", ...) and the RSA padding; the
    /// policy's hash and padding rules check them.
    std::string hash = "sha256";
    token::pkcs11::SignPadding padding = token::pkcs11::SignPadding::Pkcs1v15;
    /// For the audit log: digests (hex) of the content, and the message's Message-ID.
    std::string content_sha256;
    std::string content_digest;
    std::string message_id;
    /// OpenPGP cards: the signature counter after the operation (for the audit log).
    std::optional<std::uint32_t> signature_counter;
    /// The requesting process; empty: this process.
    std::optional<audit::Caller> caller;
};

/// The GnuPG home and the token of a PGP/MIME operation, whose PIN session GnuPG's daemons
/// hold (engine/pgp_session.cpp).
struct PgpSessionTarget {
    std::string homedir;       ///< absolute path of the GnuPG home
    std::string token_serial;  ///< the card's or token's serial
    std::string token_label;
    std::string module_path;  ///< "pcsc:READER" for an OpenPGP card, else the PKCS#11 module
};

/// The PIN prompt for `request` with the key `match`: the token, the key, the operation and the
/// summary of what is signed or decrypted (what you see is what you sign).
token::PinRequest pin_request_for(const token::pkcs11::KeyMatch& match,
                                  const OperationRequest& request);

class Engine {
  public:
    /// Loads the modules. Modules that fail to load are kept in module_failures().
    Engine(EngineOptions options, std::unique_ptr<token::PinSource> pin_source);

    const token::pkcs11::ModuleSet& modules() const noexcept { return m_modules; }
    const std::vector<token::pkcs11::ModuleFailure>& module_failures() const noexcept {
        return m_modules.failures;
    }

    /// Every slot and token; read failures are appended to `failures`.
    std::vector<token::pkcs11::TokenEntry> tokens(
        std::vector<token::pkcs11::ModuleFailure>& failures) const;
    /// Keys on the tokens matching `token_uri` (all when empty).
    base::Result<std::vector<token::pkcs11::KeyMatch>> keys(
        const std::string& token_uri, std::vector<token::pkcs11::ModuleFailure>& failures) const;
    /// The one key `key_uri` selects, without logging in.
    base::Result<token::pkcs11::KeyMatch> find_key(const std::string& key_uri) const;

    /// The policy this engine enforces, loaded on first use and again whenever one of its files
    /// changed (a long-lived agent follows the administrator's edits at its next operation;
    /// the PIN sessions of the old policy end then). Errors: those of
    /// policy::EffectivePolicy::load (BadInput with file:line:column, Io): with a broken file
    /// every operation is refused until it is fixed.
    base::Result<const policy::EffectivePolicy*> policy();

    /// Resolves the key, checks the rules (refusing before any PIN is asked), prompts through
    /// the PIN source with the request's summary, and logs in. Errors: those of select_key,
    /// PolicyDenied, and those of the guarded login. A refusal or failed login is written to
    /// the audit log; on success the caller records the operation's outcome with record().
    /// With audit.required, a log that cannot be opened fails here, before any PIN.
    base::Result<token::pkcs11::KeyLease> authorize(const OperationRequest& request);
    /// The same for a key already found with find_key().
    base::Result<token::pkcs11::KeyLease> authorize(token::pkcs11::KeyMatch match,
                                                    const OperationRequest& request);

    /// Signs `digest` with an OpenPGP card key: the policy (the card seen as a token whose
    /// module is its reader, software when it is a test card), the card lease, and the audit
    /// record with the card's signature counter, written before the signature is returned.
    /// With pin.mode = "session", a card whose PW1 status byte allows several signatures per
    /// VERIFY stays verified on an exclusive connection after the first signature, and the
    /// next ones need no PIN until the session ends (engine/session.hpp).
    base::Result<std::vector<std::uint8_t>> sign_digest_card(OperationRequest request,
                                                             std::span<const std::uint8_t> digest);
    /// The public key of a card slot, without a PIN.
    base::Result<base::EvpPkeyPtr> card_public_key(const std::string& reference) const;
    /// Signs `digest` (made with request.hash) with the key: authorize(), the signature on the
    /// token, and its audit record, written (fsync) before the signature is returned. With
    /// audit.required, a record that cannot be written discards the signature (Io).
    base::Result<std::vector<std::uint8_t>> sign_digest(token::pkcs11::KeyMatch match,
                                                        const OperationRequest& request,
                                                        std::span<const std::uint8_t> digest);

    /// Writes the audit record of an operation on `match`. A log that cannot be written is an
    /// error when the policy says audit.required, otherwise a warning on stderr.
    base::Status record(const token::pkcs11::KeyMatch& match, const OperationRequest& request,
                        const audit::Outcome& outcome);

    /// PIN sessions (pin.mode = "session", engine/session.hpp). lock() ends every session now
    /// and returns how many; sweep_sessions() ends those expired or whose token is gone.
    std::size_t lock() { return m_sessions.end_all(SessionEnd::Locked); }
    std::size_t sweep_sessions() { return m_sessions.sweep(); }
    std::vector<SessionInfo> sessions() const { return m_sessions.list(); }
    /// PGP/MIME PIN sessions (agent only; docs/agent-protocol.md "PGP/MIME"): GnuPG's daemons
    /// of a home hold the unlocked state, the engine its limits and its end (the daemons
    /// stopped, the card's PINs reset). use_pgp_session() counts one operation in a live
    /// session for `target` (None: the client asks the PIN and stops the daemons as usual).
    /// open_pgp_session() opens one after an operation that asked the PIN, and returns its
    /// limits; nothing when the policy is per-operation, the cap is one, or the token is gone
    /// (the client then ends the state itself). Both load the policy first (a changed policy
    /// ends every session). Errors: BadInput (a home that is not an absolute directory), and
    /// those of policy().
    base::Result<HeldUse> use_pgp_session(const PgpSessionTarget& target);
    base::Result<std::optional<SessionLimits>> open_pgp_session(const PgpSessionTarget& target);
    /// At the agent's start: ends every held session that EngineOptions::held_record_path
    /// records — left by an agent that died without ending them — as a session's end does
    /// (the home's daemons stopped, the card's PINs reset), and removes the record. Returns
    /// each recorded session with what came of its end, for the audit log. Errors: Io,
    /// BadInput (a record that cannot be read: it is removed, naming the homes is impossible).
    base::Result<std::vector<std::pair<HeldRecord, base::Status>>> end_recorded_pgp_sessions();

    /// The agent serves clients with their own --demo and --allow-last-pin-try.
    void set_client_options(bool demo_mode, token::LockoutOptions lockout) {
        m_options.demo_mode = demo_mode;
        m_options.lockout = lockout;
    }
    /// For operations another program performs on the token (GnuPG for PGP/MIME): loads the
    /// policy, opens the audit log, checks the rules for `match` and the lockout guard on its
    /// PIN state, all before any PIN is asked; with pin.confirm_each_operation, the user
    /// confirms `prompt` (what is signed or decrypted) through the PIN source first. A refusal
    /// is recorded and returned (PolicyDenied, Unsupported, PinLocked, LastTryRefused, a
    /// declined confirmation); the caller records the outcome with record().
    base::Status admit(const token::pkcs11::KeyMatch& match, const OperationRequest& request,
                       const token::PinRequest& prompt) {
        KEYFENCE_TRY(policy());
        KEYFENCE_TRY(open_audit_log());
        if (auto refusal = check_policy(match, request)) {
            return refuse(match, request, std::move(*refusal));
        }
        if (auto guard = token::check_lockout(match.token, m_options.lockout); !guard) {
            (void)record(match, request, audit::Outcome::from_error(guard.error()));
            return guard;
        }
        if (m_policy->values().pin.confirm_each_operation &&
            request.operation != Operation::StoreCertificate) {
            return confirm(match, request, prompt);
        }
        return {};
    }
    /// The PIN source, for a PIN another program asks for (GPGME's passphrase callback).
    token::PinSource& pin_source() noexcept { return *m_pin_source; }

  private:
    /// The rule that refused and the error, or nothing when the operation may go ahead.
    std::optional<policy::Refusal> check_policy(const token::pkcs11::KeyMatch& key,
                                                const OperationRequest& request);
    /// Records a refusal in the audit log and returns its error.
    base::Error refuse(const token::pkcs11::KeyMatch& match, const OperationRequest& request,
                       policy::Refusal refusal);
    /// Opens the audit log the policy names, once. Errors (Io) only with audit.required.
    base::Status open_audit_log();
    /// A card signature on `lease` and its audit record (with the card's counter).
    base::Result<std::vector<std::uint8_t>> sign_card(token::openpgp::CardLease& lease,
                                                      token::pkcs11::KeyMatch key,
                                                      OperationRequest request,
                                                      token::pkcs11::Hash hash,
                                                      std::span<const std::uint8_t> digest);
    /// Writes the held sessions to the agent's record (engine/pgp_session.cpp); a record
    /// that cannot be written is a warning: the sessions still end on time while the agent
    /// lives.
    static void record_held_sessions(const std::string& path,
                                     const std::vector<HeldSnapshot>& held);
    /// pin.confirm_each_operation: asks the PIN source to confirm; a refusal is recorded.
    base::Status confirm(const token::pkcs11::KeyMatch& match, const OperationRequest& request,
                         token::PinRequest prompt);

    EngineOptions m_options;
    std::unique_ptr<token::PinSource> m_pin_source;
    token::pkcs11::ModuleSet m_modules;
    std::optional<policy::EffectivePolicy> m_policy;
    std::string m_policy_stamp;   ///< identity and mtime of the files m_policy was loaded from
    bool m_policy_given = false;  ///< EngineOptions::policy: no files to follow
    std::optional<audit::AuditLog> m_audit;
    bool m_audit_opened = false;
    /// Declared after the modules: its sessions log out before a module is unloaded.
    PinSessions m_sessions;
};

}  // namespace keyfence::engine
