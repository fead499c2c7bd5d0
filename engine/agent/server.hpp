#pragma once
// keyfenced's server: accepts connections on the agent socket (same uid only, SO_PEERCRED, a
// refusal is audited), reads each client's frames on a thread of its own, and runs the token
// operations on one worker thread that owns the Engine — so operations are serialized per
// token, taken round-robin across clients (FairQueue), and a disconnected client's queued work
// is dropped. docs/agent-protocol.md describes the protocol and the design.

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/agent/connection.hpp"
#include "engine/agent/fair_queue.hpp"
#include "engine/agent/protocol.hpp"
#include "engine/engine.hpp"

namespace keyfence::engine::agent {

struct ServerOptions {
    std::vector<std::string> modules;  ///< --module
    bool no_p11_kit = false;           ///< --no-p11-kit
    /// A listening socket systemd passed (socket activation); otherwise the agent binds
    /// $XDG_RUNTIME_DIR/keyfence/agent.sock itself.
    std::optional<int> inherited_fd;
    std::size_t max_clients = 64;
    std::size_t max_queued_per_client = 64;
};

class Server {
  public:
    /// Checks the socket directory (0700, ours), binds or adopts the socket, loads the modules
    /// and the policy. Errors: PolicyDenied (directory), Usage (already running), Io, and the
    /// policy's errors.
    static base::Result<std::unique_ptr<Server>> create(ServerOptions options);
    Server(const Server&) = delete;  // owns threads and the socket
    Server& operator=(const Server&) = delete;
    ~Server();

    /// Serves until stop(); then ends every PIN session and returns.
    void run();
    /// Async-signal-safe: asks run() to return.
    void stop() noexcept;
    const std::string& socket_path() const noexcept { return m_socket_path; }

  private:
    struct Job {
        std::shared_ptr<Connection> connection;
        Request request;
    };
    struct Client {
        std::shared_ptr<Connection> connection;
        std::thread reader;
        std::atomic<bool> finished{false};
    };

    explicit Server(ServerOptions options);
    void accept_one();
    /// Refuses a peer of another uid: an error reply, an audit record, the connection closed.
    void refuse_peer(UniqueFd fd, const PeerCredentials& peer);
    void serve(Client& client);
    /// Reads and handles one frame; false when the connection must end.
    bool handle_frame(Connection& connection, const std::shared_ptr<Connection>& shared);
    void dispatch(const std::shared_ptr<Connection>& connection, Request request);
    void work();
    nlohmann::json run_job(Job& job);
    nlohmann::json sign(Job& job);
    nlohmann::json decrypt(Job& job);
    nlohmann::json status(std::uint64_t id);
    nlohmann::json pgp_session(const Request& request);
    /// At the start: ends the held sessions a previous agent recorded and did not end (it
    /// was killed), one audit record each.
    void end_left_sessions();
    void reap_clients(bool all);

    ServerOptions m_options;
    std::string m_socket_path;
    bool m_owns_socket_path = false;
    UniqueFd m_listen;
    UniqueFd m_wake_read;
    UniqueFd m_wake_write;
    std::string m_audit_path;
    ClientPinSource* m_pins = nullptr;  // owned by m_engine
    std::unique_ptr<Engine> m_engine;
    FairQueue<Job> m_queue;
    std::thread m_worker;
    std::mutex m_clients_mutex;
    std::list<Client> m_clients;
    std::atomic<std::uint64_t> m_next_client{1};
    std::atomic<bool> m_stopping{false};
};

}  // namespace keyfence::engine::agent
