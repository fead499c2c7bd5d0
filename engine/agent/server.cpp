#include "engine/agent/server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstring>

#include <fcntl.h>
#include <openssl/crypto.h>

#include "base/hex.hpp"
#include "base/logger.hpp"
#include "engine/audit/audit_log.hpp"
#include "engine/held_record.hpp"
#include "token/openpgp/card_directory.hpp"

namespace keyfence::engine::agent {
namespace p11 = token::pkcs11;
using nlohmann::json;

namespace {
audit::Caller caller_of(const PeerCredentials& peer) {
    audit::Caller caller;
    caller.pid = peer.pid;
    caller.uid = peer.uid;
    char buffer[PATH_MAX];
    const std::string link = "/proc/" + std::to_string(peer.pid) + "/exe";
    const ssize_t n = ::readlink(link.c_str(), buffer, sizeof buffer);
    if (n > 0) caller.executable.assign(buffer, static_cast<std::size_t>(n));
    return caller;
}

Protocol protocol_of(const std::string& name) {
    if (name == "s/mime") return Protocol::Smime;
    if (name == "openpgp") return Protocol::OpenPgp;
    return Protocol::Raw;
}

OperationRequest operation_request(const Request& r, const PeerCredentials& peer) {
    OperationRequest request;
    request.key_uri = r.key_uri;
    request.summary = r.summary;
    request.protocol = protocol_of(r.protocol);
    request.content_sha256 = r.content_sha256;
    request.message_id = r.message_id;
    request.caller = caller_of(peer);
    return request;
}

base::Error bad_frame(std::string what) {
    return base::Error(base::ErrorCode::BadInput, "malformed agent request: " + std::move(what),
                       "see docs/agent-protocol.md");
}
}  // namespace

Server::Server(ServerOptions options)
    : m_options(std::move(options)), m_queue(m_options.max_queued_per_client) {}

base::Result<std::unique_ptr<Server>> Server::create(ServerOptions options) {
    std::unique_ptr<Server> server(new Server(std::move(options)));
    if (server->m_options.inherited_fd) {
        server->m_listen = UniqueFd(*server->m_options.inherited_fd);
        // systemd made the directory (DirectoryMode=0700); it must still be ours alone.
        KEYFENCE_TRY_ASSIGN(dir, agent_directory());
        KEYFENCE_TRY(check_private_directory(dir, false));
        auto path = agent_socket_path();
        server->m_socket_path = path ? *path : std::string("(a socket from systemd)");
    } else {
        KEYFENCE_TRY_ASSIGN(dir, agent_directory());
        KEYFENCE_TRY(check_private_directory(dir, true));
        KEYFENCE_TRY_ASSIGN(path, agent_socket_path());
        KEYFENCE_TRY_ASSIGN(fd, listen_on(path));
        server->m_listen = std::move(fd);
        server->m_socket_path = path;
        server->m_owns_socket_path = true;
    }
    int wake[2];
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        return base::system_error(base::ErrorCode::Io, "could not create a pipe", errno);
    }
    server->m_wake_read = UniqueFd(wake[0]);
    server->m_wake_write = UniqueFd(wake[1]);

    EngineOptions engine_options;
    engine_options.modules = server->m_options.modules;
    engine_options.use_registered_modules = !server->m_options.no_p11_kit;
    engine_options.long_lived = true;
    // Only now, with the socket ours: a second agent refused above must not touch the first
    // one's sessions.
    if (auto record = held_record_path()) engine_options.held_record_path = *record;
    auto pins = std::make_unique<ClientPinSource>();
    server->m_pins = pins.get();
    server->m_engine = std::make_unique<Engine>(std::move(engine_options), std::move(pins));
    for (const auto& failure : server->m_engine->module_failures()) {
        base::log_warn("skipped ", failure.path, ": ", failure.error.message());
    }
    KEYFENCE_TRY_ASSIGN(policy, server->m_engine->policy());
    server->m_audit_path = audit::resolve_log_path(policy->values().audit.path);
    server->end_left_sessions();
    return server;
}

Server::~Server() {
    stop();
    if (m_owns_socket_path) ::unlink(m_socket_path.c_str());
}

void Server::stop() noexcept {
    m_stopping.store(true);
    if (m_wake_write) {
        const char byte = 1;
        [[maybe_unused]] auto n = ::write(m_wake_write.get(), &byte, 1);
    }
}

void Server::run() {
    m_worker = std::thread([this] { work(); });
    while (!m_stopping.load()) {
        std::array<pollfd, 2> fds = {pollfd{m_listen.get(), POLLIN, 0},
                                     pollfd{m_wake_read.get(), POLLIN, 0}};
        if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
        if (fds[0].revents & POLLIN) accept_one();
        reap_clients(false);
    }
    m_queue.stop();
    {
        std::lock_guard lock(m_clients_mutex);
        for (auto& client : m_clients) {
            client.connection->hang_up();
            ::shutdown(client.connection->fd(), SHUT_RDWR);
        }
    }
    reap_clients(true);
    if (m_worker.joinable()) m_worker.join();
    // The worker is gone: this thread owns the engine now. Every PIN session ends here.
    m_engine->lock();
}

void Server::reap_clients(bool all) {
    std::list<Client> done;
    {
        std::lock_guard lock(m_clients_mutex);
        for (auto it = m_clients.begin(); it != m_clients.end();) {
            auto next = std::next(it);
            if (all || it->finished.load()) done.splice(done.end(), m_clients, it);
            it = next;
        }
    }
    for (auto& client : done) client.reader.join();
}

void Server::accept_one() {
    UniqueFd fd(::accept4(m_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) return;
    auto peer = peer_credentials(fd.get());
    if (!peer) return;
    // A client that stops reading must not stall the worker on a full socket buffer.
    const timeval send_timeout{10, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    if (peer->uid != ::getuid()) return refuse_peer(std::move(fd), *peer);
    std::lock_guard lock(m_clients_mutex);
    if (m_clients.size() >= m_options.max_clients) {
        const auto bytes = json_frame(error_reply(
            0, base::Error(base::ErrorCode::Io, "the agent has too many clients; try again")));
        (void)send_all(fd.get(), bytes);
        return;
    }
    auto connection = std::make_shared<Connection>(std::move(fd), *peer, m_next_client++);
    Client& client = m_clients.emplace_back();
    client.connection = std::move(connection);
    client.reader = std::thread([this, &client] { serve(client); });
}

void Server::refuse_peer(UniqueFd fd, const PeerCredentials& peer) {
    const base::Error error(base::ErrorCode::PolicyDenied,
                            "refused by rule 'agent.same_uid': the agent serves uid " +
                                std::to_string(::getuid()) + " only, not uid " +
                                std::to_string(peer.uid));
    (void)send_all(fd.get(), json_frame(error_reply(0, error)));
    base::log_warn(error.message(), " (pid ", peer.pid, ")");
    audit::AuditEvent event;
    event.operation = "connect";
    event.protocol = "agent";
    event.caller = caller_of(peer);
    event.outcome = audit::Outcome::from_error(error, "agent.same_uid");
    auto log = audit::AuditLog::open(m_audit_path);
    if (!log || !log->append(event)) base::log_warn("the refusal could not be audited");
}

void Server::serve(Client& client) {
    const auto& connection = client.connection;
    while (!m_stopping.load() && handle_frame(*connection, connection)) {
    }
    connection->hang_up();
    m_queue.cancel(connection->id());  // its queued work goes with it
    ::shutdown(connection->fd(), SHUT_RDWR);
    client.finished.store(true);
}

bool Server::handle_frame(Connection& connection, const std::shared_ptr<Connection>& shared) {
    std::array<std::uint8_t, 5> header{};
    auto got = recv_exact(connection.fd(), std::span(header).first<4>());
    if (!got || !*got) return false;  // gone, or a clean end between frames
    const std::uint32_t length = frame_length(std::span(header).first<4>());
    if (length == 0 || length > k_max_json_frame) {
        (void)connection.send(
            error_reply(0, bad_frame("a frame of " + std::to_string(length) + " bytes (at most " +
                                     std::to_string(k_max_json_frame) + ")")));
        return false;  // the stream cannot be resynchronized after a bad length
    }
    auto kind = recv_exact(connection.fd(), std::span(header).subspan<4, 1>());
    if (!kind || !*kind) {
        (void)connection.send(error_reply(0, bad_frame("the frame was truncated")));
        return false;
    }
    if (header[4] == k_kind_pin) {
        if (length > k_max_pin_frame) {
            (void)connection.send(error_reply(0, bad_frame("a PIN frame longer than 256 bytes")));
            return false;
        }
        // Straight into locked memory, a few bytes at a time; the stack buffer is wiped.
        base::Pin pin;
        std::array<std::uint8_t, 16> chunk{};
        for (std::uint32_t left = length - 1; left > 0;) {
            const auto n = std::min<std::uint32_t>(left, chunk.size());
            auto read = recv_exact(connection.fd(), std::span(chunk).first(n));
            if (!read || !*read) {
                OPENSSL_cleanse(chunk.data(), chunk.size());
                (void)connection.send(error_reply(0, bad_frame("the PIN frame was truncated")));
                return false;
            }
            for (std::uint32_t i = 0; i < n; ++i) (void)pin.push_back(chunk[i]);
            left -= n;
        }
        OPENSSL_cleanse(chunk.data(), chunk.size());
        if (!connection.deliver_pin(std::move(pin))) {
            (void)connection.send(error_reply(0, bad_frame("a PIN that was not asked for")));
        }
        return true;
    }
    if (header[4] != k_kind_json) {
        (void)connection.send(error_reply(0, bad_frame("an unknown frame kind")));
        return false;
    }
    std::vector<std::uint8_t> payload(length - 1);
    auto body = recv_exact(connection.fd(), payload);
    if (!body || !*body) {
        (void)connection.send(error_reply(0, bad_frame("the frame was truncated")));
        return false;
    }
    auto request = parse_request(payload);
    if (!request) {
        (void)connection.send(error_reply(0, request.error()));
        return true;  // a whole frame that makes no sense: answer it and go on
    }
    dispatch(shared, std::move(*request));
    return true;
}

void Server::dispatch(const std::shared_ptr<Connection>& connection, Request request) {
    const std::uint64_t id = request.id;
    switch (request.op) {
        case RequestOp::Ping:
            (void)connection->send(ok_reply(
                id, {{"pong", true}, {"pid", ::getpid()}, {"version", k_protocol_version}}));
            return;
        case RequestOp::Answer:
            if (!connection->deliver_answer(request.confirmed, request.cancelled)) {
                (void)connection->send(error_reply(id, bad_frame("an answer to no question")));
            }
            return;
        case RequestOp::Status:
        case RequestOp::Lock:
            m_queue.push(connection->id(), Job{connection, std::move(request)}, true);
            return;
        case RequestOp::Sign:
        case RequestOp::Decrypt:
        case RequestOp::PgpSession:
            if (!m_queue.push(connection->id(), Job{connection, std::move(request)})) {
                (void)connection->send(
                    error_reply(id, base::Error(base::ErrorCode::Io,
                                                "too many requests queued on this connection")));
            }
            return;
    }
}

void Server::work() {
    auto last_sweep = std::chrono::steady_clock::now();
    while (!m_stopping.load()) {
        auto job = m_queue.pop(std::chrono::milliseconds(1000));
        if (job && !job->connection->gone()) {
            json reply = run_job(*job);
            if (!job->connection->send(reply)) {
                // Gone, or not reading for 10 s: its reader thread ends the connection.
                job->connection->hang_up();
                ::shutdown(job->connection->fd(), SHUT_RDWR);
            }
        }
        // Once a second, busy or idle: end sessions that expired or whose token went away,
        // without waiting for an operation on them (a PGP/MIME session's daemons would
        // otherwise serve other programs past its TTL while the queue is busy).
        const auto now = std::chrono::steady_clock::now();
        if (!m_stopping.load() && (!job || now - last_sweep >= std::chrono::seconds(1))) {
            m_engine->sweep_sessions();
            last_sweep = now;
        }
    }
}

json Server::run_job(Job& job) {
    const Request& request = job.request;
    switch (request.op) {
        case RequestOp::Lock:
            return ok_reply(request.id, {{"ended", m_engine->lock()}});
        case RequestOp::Status:
            return status(request.id);
        case RequestOp::PgpSession:
            return pgp_session(request);
        case RequestOp::Sign:
        case RequestOp::Decrypt:
            break;
        default:
            return error_reply(request.id, bad_frame("not an operation"));
    }
    if (request.options.modules != m_options.modules ||
        request.options.no_p11_kit != m_options.no_p11_kit) {
        // The client would see other tokens than the agent: it works in-process instead.
        json reply = error_reply(request.id,
                                 base::Error(base::ErrorCode::Unsupported,
                                             "the agent was started with other PKCS#11 modules"));
        reply["fallback"] = true;
        return reply;
    }
    m_engine->set_client_options(request.options.demo,
                                 token::LockoutOptions{request.options.allow_last_pin_try});
    m_pins->route_to(job.connection.get(), request.id);
    json reply = request.op == RequestOp::Sign ? sign(job) : decrypt(job);
    m_pins->route_to(nullptr, 0);
    return reply;
}

json Server::sign(Job& job) {
    const Request& r = job.request;
    if (token::openpgp::is_card_reference(r.key_uri)) {
        // An OpenPGP card over PC/SC: its PIN session lives in this agent's engine.
        if (r.pss) {
            return error_reply(r.id, base::Error(base::ErrorCode::Usage,
                                                 "OpenPGP cards sign RSA with PKCS#1 v1.5 only"));
        }
        OperationRequest request = operation_request(r, job.connection->peer());
        request.operation = Operation::Sign;
        request.hash = r.hash;
        request.content_digest = base::to_hex(r.digest);
        auto signature = m_engine->sign_digest_card(std::move(request), r.digest);
        if (!signature) return error_reply(r.id, signature.error());
        return ok_reply(r.id, {{"signature", base::to_hex(*signature)}});
    }
    auto match = m_engine->find_key(r.key_uri);
    if (!match) return error_reply(r.id, match.error());
    if (r.pss && match->key.algorithm != p11::KeyAlgorithm::Rsa) {
        return error_reply(
            r.id, base::Error(base::ErrorCode::Usage,
                              "--pss applies to RSA keys; " + match->key.uri + " is not one"));
    }
    OperationRequest request = operation_request(r, job.connection->peer());
    request.operation = Operation::Sign;
    request.hash = r.hash;
    request.padding = r.pss ? p11::SignPadding::Pss : p11::SignPadding::Pkcs1v15;
    request.content_digest = base::to_hex(r.content_digest.empty() ? r.digest : r.content_digest);
    auto signature = m_engine->sign_digest(std::move(*match), request, r.digest);
    if (!signature) return error_reply(r.id, signature.error());
    return ok_reply(r.id, {{"signature", base::to_hex(*signature)}});
}

json Server::decrypt(Job& job) {
    const Request& r = job.request;
    auto match = m_engine->find_key(r.key_uri);
    if (!match) return error_reply(r.id, match.error());
    const bool ecdh = r.mechanism == "ecdh";
    OperationRequest request = operation_request(r, job.connection->peer());
    request.operation = ecdh ? Operation::Derive : Operation::Decrypt;
    const p11::KeyMatch recorded = *match;
    auto lease = m_engine->authorize(std::move(*match), request);
    if (!lease) return error_reply(r.id, lease.error());
    const auto padding = r.mechanism == "rsa-oaep-sha1"     ? p11::DecryptPadding::OaepSha1
                         : r.mechanism == "rsa-oaep-sha256" ? p11::DecryptPadding::OaepSha256
                                                            : p11::DecryptPadding::Pkcs1v15;
    auto result = ecdh ? lease->derive_ecdh(r.data) : lease->decrypt(padding, r.data);
    const audit::Outcome outcome =
        result ? audit::Outcome{} : audit::Outcome::from_error(result.error());
    auto written = m_engine->record(recorded, request, outcome);
    if (!result) return error_reply(r.id, result.error());
    if (!written) return error_reply(r.id, written.error());
    return ok_reply(r.id, {{"data", base::to_hex(result->bytes())}});
}

void Server::end_left_sessions() {
    auto ended = m_engine->end_recorded_pgp_sessions();
    if (!ended) {
        base::log_warn("the PIN sessions a previous agent recorded could not be read: ",
                       ended.error().message());
        return;
    }
    for (const auto& [record, status] : *ended) {
        audit::AuditEvent event;
        // Not an operation on a key: the end of an unlocked state nobody was watching.
        event.operation = "end-left-session";
        event.protocol = "openpgp";
        event.token_label = record.token_label;
        event.token_serial = record.token_serial;
        event.caller = audit::Caller::self();
        event.outcome = status ? audit::Outcome{} : audit::Outcome::from_error(status.error());
        auto log = audit::AuditLog::open(m_audit_path);
        if (!log || !log->append(event)) {
            base::log_warn("the end of a session a previous agent left could not be audited");
        }
    }
}

json Server::pgp_session(const Request& r) {
    // The operation itself runs in the client (GPGME); the client's own engine checked the
    // policy and writes the audit record. The agent keeps the session: its limits and its end.
    PgpSessionTarget target{r.homedir, r.token_serial, r.token_label, r.module};
    if (r.action == "use") {
        auto use = m_engine->use_pgp_session(target);
        if (!use) return error_reply(r.id, use.error());
        return ok_reply(r.id, {{"live", *use != HeldUse::None}, {"last", *use == HeldUse::Last}});
    }
    auto opened = m_engine->open_pgp_session(target);
    if (!opened) return error_reply(r.id, opened.error());
    if (!*opened) return ok_reply(r.id, {{"opened", false}});
    return ok_reply(r.id, {{"opened", true},
                           {"ttl", (*opened)->ttl.count()},
                           {"max_operations", (*opened)->max_operations}});
}

json Server::status(std::uint64_t id) {
    m_engine->sweep_sessions();
    json sessions = json::array();
    for (const auto& s : m_engine->sessions()) {
        sessions.push_back({{"token_label", s.token_label},
                            {"token_serial", s.token_serial},
                            {"module", s.module_path},
                            {"operations", s.operations},
                            {"max_operations", s.max_operations},
                            {"seconds_left", s.seconds_left}});
    }
    std::size_t clients = 0;
    {
        std::lock_guard lock(m_clients_mutex);
        clients = m_clients.size();
    }
    return ok_reply(id, {{"pid", ::getpid()},
                         {"socket", m_socket_path},
                         {"clients", clients},
                         {"queued", m_queue.size()},
                         {"sessions", sessions}});
}

}  // namespace keyfence::engine::agent
