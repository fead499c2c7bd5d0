#include <cstdio>

#include "base/atomic_output.hpp"
#include "base/hex.hpp"
#include "base/logger.hpp"
#include "cli/agent_client.hpp"
#include "cli/command.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "mail/content_digest.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;

namespace {
std::vector<std::pair<std::string, std::string>> content_summary(
    const SignOptions& options, const mail::ContentDigest& content) {
    const std::string input = options.in == "-" ? std::string("standard input") : options.in;
    std::vector<std::pair<std::string, std::string>> summary = {
        {"Content", input + " (" + std::to_string(content.size) + " bytes)"},
        {"SHA-256", base::to_hex(content.sha256)}};
    if (options.hash != "sha256") {
        std::string name = options.hash;
        for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        summary.emplace_back(name.insert(3, "-"), base::to_hex(content.digest));
    }
    summary.emplace_back("Signature", options.pss ? "RSA-PSS" : "PKCS#1 v1.5 / ECDSA / EdDSA");
    return summary;
}

engine::OperationRequest make_request(const SignOptions& options,
                                      const mail::ContentDigest& content) {
    engine::OperationRequest request;
    request.operation = engine::Operation::Sign;
    request.key_uri = options.key_uri;
    request.summary = content_summary(options, content);
    request.protocol = engine::Protocol::Raw;
    request.hash = options.hash;
    request.padding = options.pss ? p11::SignPadding::Pss : p11::SignPadding::Pkcs1v15;
    request.content_sha256 = base::to_hex(content.sha256);
    request.content_digest = base::to_hex(content.digest);
    return request;
}

// An OpenPGP card key named by an openpgp: reference, natively over PC/SC.
base::Status sign_with_card(engine::Engine& engine, const SignOptions& options) {
    if (options.pss)
        return base::Error(base::ErrorCode::Usage, "OpenPGP cards sign RSA with PKCS#1 v1.5 only");
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    KEYFENCE_TRY_ASSIGN(content, mail::digest_content(options.in, options.hash));
    KEYFENCE_TRY_ASSIGN(signature,
                        engine.sign_digest_card(make_request(options, content), content.digest));
    KEYFENCE_TRY(out.write(signature));
    return out.commit();
}

// Through the agent: the same request, the PIN from this process's own source when the agent
// asks for it. Nothing when the agent sends the command back (other modules than its own).
std::optional<base::Status> sign_with_agent(engine::agent::AgentClient& agent,
                                            const GlobalOptions& globals,
                                            const SignOptions& options) {
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    KEYFENCE_TRY_ASSIGN(content, mail::digest_content(options.in, options.hash));
    const engine::OperationRequest operation = make_request(options, content);
    engine::agent::Request request;
    request.op = engine::agent::RequestOp::Sign;
    request.options = client_options(globals);
    request.key_uri = operation.key_uri;
    request.summary = operation.summary;
    request.content_sha256 = operation.content_sha256;
    request.hash = options.hash;
    request.pss = options.pss;
    request.digest = content.digest;
    auto pins = make_pin_source(globals);
    KEYFENCE_TRY_ASSIGN(reply, agent.call(std::move(request), pins.get()));
    if (reply.value("fallback", false)) return std::nullopt;
    auto signature = base::from_hex(reply.value("signature", ""));
    if (!signature || signature->empty()) {
        return base::Status(base::Error(base::ErrorCode::Io, "the agent sent no signature"));
    }
    KEYFENCE_TRY(out.write(*signature));
    return out.commit();
}

base::Status sign(const GlobalOptions& globals, const SignOptions& options) {
    KEYFENCE_TRY(p11::parse_hash(options.hash));
    const bool card = token::openpgp::is_card_reference(options.key_uri);
    if (card && options.pss) {
        return base::Error(base::ErrorCode::Usage, "OpenPGP cards sign RSA with PKCS#1 v1.5 only");
    }
    // Through the agent when it runs, card keys too: its PIN sessions outlast this command.
    if (auto agent = connect_agent(globals)) {
        if (auto done = sign_with_agent(*agent, globals, options)) return std::move(*done);
        base::log_debug("the agent has other modules; signing in-process");
    }
    auto engine = make_engine(globals);
    if (card) return sign_with_card(*engine, options);
    warn_module_failures(engine->module_failures());
    // Resolve the key and open the output before hashing or asking for a PIN, so a typo in
    // --key or --out costs no time and no PIN entry.
    KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
    if (options.pss && match.key.algorithm != p11::KeyAlgorithm::Rsa) {
        return base::Error(base::ErrorCode::Usage,
                           "--pss applies to RSA keys; " + match.key.uri + " is not one");
    }
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    KEYFENCE_TRY_ASSIGN(content, mail::digest_content(options.in, options.hash));

    engine::OperationRequest request = make_request(options, content);
    // The engine checks the policy, logs in, signs and writes the audit record (fsync) before
    // the signature comes back; only then does the output appear.
    KEYFENCE_TRY_ASSIGN(signature, engine->sign_digest(std::move(match), request, content.digest));
    KEYFENCE_TRY(out.write(signature));
    return out.commit();
}
}  // namespace

int run_sign(const GlobalOptions& globals, const SignOptions& options) {
    base::Status status = sign(globals, options);
    if (!status) {
        report_error(status.error());
        return exit_code_for(status.error());
    }
    return k_exit_ok;
}

void add_sign_command(CommandContext& context) {
    auto sign = std::make_shared<SignOptions>();
    auto* cmd = context.app.add_subcommand("sign", "Hash a file and sign the digest on the token");
    cmd->add_option(
           "--key", sign->key_uri,
           "The key: a PKCS#11 URI ('keyfence keys') or openpgp:SERIAL ('keyfence status')")
        ->required();
    cmd->add_option("--hash", sign->hash, "sha256 (default), sha384 or sha512")
        ->check(CLI::IsMember({"sha256", "sha384", "sha512"}));
    cmd->add_flag("--pss", sign->pss, "RSA-PSS instead of PKCS#1 v1.5 (RSA keys)");
    cmd->add_option("--in", sign->in, "The file to sign (default: standard input)");
    cmd->add_option("--out", sign->out, "Where to write the signature (default: stdout)");
    context.on_chosen(cmd, sign, run_sign);
}

}  // namespace keyfence::cli
