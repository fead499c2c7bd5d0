#include "cli/smime_delegates.hpp"

#include <openssl/crypto.h>

#include "base/hex.hpp"
#include "cli/agent_client.hpp"

namespace keyfence::cli {
namespace p11 = token::pkcs11;
namespace smime = mail::smime;

namespace {
engine::agent::Request agent_request(engine::agent::RequestOp op, const GlobalOptions& globals,
                                     const engine::OperationRequest& operation) {
    engine::agent::Request request;
    request.op = op;
    request.options = client_options(globals);
    request.key_uri = operation.key_uri;
    request.protocol = std::string(engine::protocol_name(operation.protocol));
    request.summary = operation.summary;
    request.content_sha256 = operation.content_sha256;
    request.message_id = operation.message_id;
    return request;
}

// The agent's answer, or the fallback (an error that the caller recognises by *fallback).
base::Result<nlohmann::json> ask_agent(engine::agent::AgentClient& agent,
                                       engine::agent::Request request, token::PinSource* pins,
                                       bool* fallback) {
    KEYFENCE_TRY_ASSIGN(reply, agent.call(std::move(request), pins));
    if (reply.value("fallback", false)) {
        *fallback = true;
        return base::Error(base::ErrorCode::Unsupported, "the agent has other modules");
    }
    return reply;
}

std::string mechanism_name(smime::KeyUnwrap mechanism) {
    switch (mechanism) {
        case smime::KeyUnwrap::RsaPkcs1:
            return "rsa-pkcs1";
        case smime::KeyUnwrap::RsaOaepSha1:
            return "rsa-oaep-sha1";
        case smime::KeyUnwrap::RsaOaepSha256:
            return "rsa-oaep-sha256";
        case smime::KeyUnwrap::Ecdh:
            return "ecdh";
    }
    return "rsa-pkcs1";
}
}  // namespace

smime::KeyDelegate agent_delegate(engine::agent::AgentClient& agent, const GlobalOptions& globals,
                                  const engine::OperationRequest& operation, token::PinSource* pins,
                                  bool* fallback) {
    smime::KeyDelegate delegate;
    delegate.sign =
        [&agent, &globals, &operation, pins,
         fallback](const smime::DigestToSign& what) -> base::Result<std::vector<std::uint8_t>> {
        auto request = agent_request(engine::agent::RequestOp::Sign, globals, operation);
        request.hash = what.hash;
        request.pss = what.pss;
        request.digest.assign(what.digest.begin(), what.digest.end());
        if (auto content = base::from_hex(operation.content_digest)) {
            request.content_digest = std::move(*content);
        }
        KEYFENCE_TRY_ASSIGN(reply, ask_agent(agent, std::move(request), pins, fallback));
        auto signature = base::from_hex(reply.value("signature", ""));
        if (!signature || signature->empty()) {
            return base::Error(base::ErrorCode::Io, "the agent sent no signature");
        }
        return std::move(*signature);
    };
    delegate.decrypt = [&agent, &globals, &operation, pins, fallback](
                           smime::KeyUnwrap mechanism,
                           std::span<const std::uint8_t> data) -> base::Result<base::SecureBuffer> {
        auto request = agent_request(engine::agent::RequestOp::Decrypt, globals, operation);
        request.mechanism = mechanism_name(mechanism);
        request.data.assign(data.begin(), data.end());
        KEYFENCE_TRY_ASSIGN(reply, ask_agent(agent, std::move(request), pins, fallback));
        std::string text = reply.value("data", "");
        auto bytes = base::from_hex(text);
        OPENSSL_cleanse(text.data(), text.size());
        if (!bytes || bytes->empty()) {
            return base::Error(base::ErrorCode::Io, "the agent sent no data");
        }
        base::SecureBuffer plain(bytes->size());
        for (std::uint8_t b : *bytes) plain.push_back(b);
        OPENSSL_cleanse(bytes->data(), bytes->size());
        return plain;
    };
    return delegate;
}

smime::KeyDelegate lease_delegate(p11::KeyLease& lease) {
    smime::KeyDelegate delegate;
    delegate.sign =
        [&lease](const smime::DigestToSign& what) -> base::Result<std::vector<std::uint8_t>> {
        KEYFENCE_TRY_ASSIGN(hash, p11::parse_hash(what.hash));
        return lease.sign_digest(hash, what.digest,
                                 what.pss ? p11::SignPadding::Pss : p11::SignPadding::Pkcs1v15);
    };
    delegate.decrypt = [&lease](
                           smime::KeyUnwrap mechanism,
                           std::span<const std::uint8_t> data) -> base::Result<base::SecureBuffer> {
        switch (mechanism) {
            case smime::KeyUnwrap::Ecdh:
                return lease.derive_ecdh(data);
            case smime::KeyUnwrap::RsaOaepSha1:
                return lease.decrypt(p11::DecryptPadding::OaepSha1, data);
            case smime::KeyUnwrap::RsaOaepSha256:
                return lease.decrypt(p11::DecryptPadding::OaepSha256, data);
            case smime::KeyUnwrap::RsaPkcs1:
                break;
        }
        return lease.decrypt(p11::DecryptPadding::Pkcs1v15, data);
    };
    return delegate;
}

}  // namespace keyfence::cli
