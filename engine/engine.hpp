#pragma once
// The engine: the broker every private-key operation passes through. It resolves the key,
// applies the rules that can refuse before any PIN is asked, builds the prompt that names what
// is being signed, and hands back a one-operation key lease.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "token/pin/lockout_guard.hpp"
#include "token/pin/pin_source.hpp"
#include "token/pkcs11/key_lease.hpp"
#include "token/pkcs11/registry.hpp"

namespace keyfence::engine {

/// StoreCertificate: write a certificate beside the key (enrollment); needs a login, no usage.
enum class Operation { Sign, Decrypt, Derive, StoreCertificate };
std::string_view operation_name(Operation op);

struct EngineOptions {
    std::vector<std::string> modules;    ///< --module PATH, repeatable
    bool use_registered_modules = true;  ///< the modules registered with p11-kit
    bool demo_mode = false;              ///< --demo: the software demo token may be used
    token::LockoutOptions lockout;
};

/// What the user is asked to authorize, shown in the PIN prompt.
struct OperationRequest {
    Operation operation = Operation::Sign;
    std::string key_uri;
    /// The message or content, as label/value lines (File, Size, SHA-256; later From, To...).
    std::vector<std::pair<std::string, std::string>> summary;
};

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

    /// Resolves the key, checks the rules (refusing before any PIN is asked), prompts through
    /// the PIN source with the request's summary, and logs in. Errors: those of select_key,
    /// PolicyDenied, and those of the guarded login.
    base::Result<token::pkcs11::KeyLease> authorize(const OperationRequest& request);
    /// The same for a key already found with find_key().
    base::Result<token::pkcs11::KeyLease> authorize(token::pkcs11::KeyMatch match,
                                                    const OperationRequest& request);

  private:
    base::Status check_policy(const token::pkcs11::KeyMatch& key, Operation op) const;

    EngineOptions m_options;
    std::unique_ptr<token::PinSource> m_pin_source;
    token::pkcs11::ModuleSet m_modules;
};

}  // namespace keyfence::engine
