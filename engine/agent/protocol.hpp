#pragma once
// The keyfenced protocol (docs/agent-protocol.md): length-prefixed frames over a Unix socket.
// A frame is a 4-byte big-endian length N (1 <= N <= the kind's limit), then N bytes: one kind
// byte ('J': a JSON object, 'P': a PIN) and the payload. This file is pure: framing constants,
// the request parser (fuzzed by tests/fuzz/agent_request_fuzz.cpp) and the JSON of replies and
// errors; sockets and threads live in socket.hpp and server.hpp.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/result.hpp"

namespace keyfence::engine::agent {

inline constexpr int k_protocol_version = 1;
inline constexpr std::uint8_t k_kind_json = 'J';
inline constexpr std::uint8_t k_kind_pin = 'P';
/// Largest JSON frame (kind byte included). A request carries a digest or one wrapped key.
inline constexpr std::size_t k_max_json_frame = 64 * 1024;
/// Largest PIN frame: the kind byte and base::Pin::k_max_length bytes.
inline constexpr std::size_t k_max_pin_frame = 1 + 256;
/// Limits inside a request.
inline constexpr std::size_t k_max_string = 4096;
inline constexpr std::size_t k_max_summary_lines = 32;
inline constexpr std::size_t k_max_data_bytes = 1024;  ///< RSA-8192 ciphertext

enum class RequestOp { Ping, Status, Lock, Sign, Decrypt, Answer, PgpSession };
std::string_view request_op_name(RequestOp op);

/// The client's own options that change what the engine does, and the modules it would load:
/// the agent serves a client only when they match its own (otherwise the client works
/// in-process, so results never depend on whether the agent runs).
struct ClientOptions {
    bool demo = false;
    bool allow_last_pin_try = false;
    std::vector<std::string> modules;
    bool no_p11_kit = false;
    bool operator==(const ClientOptions&) const = default;
};

/// One parsed, validated message from a client.
struct Request {
    std::uint64_t id = 0;
    RequestOp op = RequestOp::Ping;
    ClientOptions options;
    // sign and decrypt
    std::string key_uri;
    std::string protocol = "raw";  ///< "raw", "s/mime", "openpgp"
    std::vector<std::pair<std::string, std::string>> summary;
    std::string content_sha256;
    std::string message_id;
    // sign
    std::string hash = "sha256";
    bool pss = false;
    std::vector<std::uint8_t> digest;
    /// The content's digest for the audit record when `digest` is not the content's own
    /// (S/MIME signs the DER of its signed attributes, RFC 5652 §5.4); empty: `digest`.
    std::vector<std::uint8_t> content_digest;
    // decrypt: "rsa-pkcs1", "rsa-oaep-sha1", "rsa-oaep-sha256" (ciphertext) or "ecdh" (peer)
    std::string mechanism;
    std::vector<std::uint8_t> data;
    // pgp-session: "use" (count an operation in a live session) or "open" (after an operation
    // that asked the PIN), for the GnuPG home `homedir` and the token of `key_uri`
    std::string action;
    std::string homedir;
    std::string token_serial;
    std::string token_label;
    std::string module;  ///< "pcsc:READER" for an OpenPGP card, else the PKCS#11 module
    // answer (to need-confirm or need-pin)
    bool confirmed = false;
    bool cancelled = false;
};

/// Parses the payload of a 'J' frame (without the kind byte). Every field is checked: type,
/// length, hex, allowed values. Errors: BadInput naming the problem. Never throws.
base::Result<Request> parse_request(std::span<const std::uint8_t> payload);

/// The JSON of a request, as a client sends it (the inverse of parse_request).
nlohmann::json request_json(const Request& request);

/// Frame header for a payload of `size` bytes of `kind`.
std::vector<std::uint8_t> frame(std::uint8_t kind, std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> json_frame(const nlohmann::json& message);
/// The length in a frame header.
std::uint32_t frame_length(std::span<const std::uint8_t, 4> header);

/// An error as JSON, and back (code by its code_name; unknown names become Internal).
nlohmann::json error_json(const base::Error& error);
base::Error error_from_json(const nlohmann::json& json);

/// {"type":"result","id":N,"ok":false,"error":{...}}.
nlohmann::json error_reply(std::uint64_t id, const base::Error& error);
/// {"type":"result","id":N,"ok":true} merged with `fields`.
nlohmann::json ok_reply(std::uint64_t id, nlohmann::json fields = nlohmann::json::object());

}  // namespace keyfence::engine::agent
