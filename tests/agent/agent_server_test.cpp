// keyfenced against real clients: concurrency, fairness of results, malformed input, other
// users, and an agent killed mid-operation.

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "base/hex.hpp"
#include "engine/agent/protocol.hpp"
#include "engine/held_record.hpp"
#include "tests/agent/agent_world.hpp"
#include "tests/support/ecdh_peer.hpp"

namespace {
using namespace keyfence;
using namespace keyfence::test;
namespace agent = keyfence::engine::agent;
using nlohmann::json;

// A raw connection for sending what no AgentClient would.
struct RawConnection {
    agent::UniqueFd fd;
    explicit RawConnection(const std::string& path) : fd(std::move(*agent::connect_to(path))) {}
    void send(const std::vector<std::uint8_t>& bytes) {
        ASSERT_TRUE(agent::send_all(fd.get(), bytes));
    }
    void send_text(const std::string& text) {
        send(agent::frame(agent::k_kind_json,
                          {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
    }
    /// The next message, or null at the end of the stream.
    json receive() {
        std::array<std::uint8_t, 5> header{};
        auto got = agent::recv_exact(fd.get(), header);
        if (!got || !*got) return nullptr;
        std::vector<std::uint8_t> body(agent::frame_length(std::span(header).first<4>()) - 1);
        if (!agent::recv_exact(fd.get(), body)) return nullptr;
        return json::parse(body.begin(), body.end());
    }
    bool ping() {
        send_text(R"({"v":1,"id":99,"op":"ping"})");
        const json reply = receive();
        return !reply.is_null() && reply.value("pong", false);
    }
};

std::string error_code_of(const json& reply) {
    return reply.is_null() ? "" : reply["error"].value("code", "");
}

TEST(Agent, SixteenClientsTwoHundredSignaturesEachAllVerifyWithTheirOwnDigest) {
    AgentWorld world;
    world.start();
    const std::string pem = read_file(world.softhsm().pubkey_pem("ecp256"));
    constexpr int k_clients = 16, k_signatures = 200;
    std::atomic<int> good{0}, failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < k_clients; ++c) {
        clients.emplace_back([&, c] {
            auto client = world.connect();
            CountingPinSource pins;
            for (int i = 0; i < k_signatures; ++i) {
                std::vector<std::uint8_t> digest(32);
                RAND_bytes(digest.data(), 32);
                digest[0] = static_cast<std::uint8_t>(c);  // each client's digests differ
                auto reply = client.call(sign_request(digest), &pins);
                if (!reply) {
                    ++failed;
                    ADD_FAILURE() << "client " << c << ": " << reply.error().message();
                    return;
                }
                auto signature = base::from_hex(reply->value("signature", ""));
                if (signature && verifies(pem, digest, *signature)) {
                    ++good;
                } else {
                    ++failed;  // a reply meant for another client would not verify
                }
            }
        });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(good.load(), k_clients * k_signatures);
}

base::EvpPkeyPtr public_key(const std::string& pem_path) {
    const std::string pem = read_file(pem_path);
    base::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return base::EvpPkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

agent::Request decrypt_request(const std::string& key, const std::string& mechanism,
                               std::vector<std::uint8_t> data) {
    agent::Request request = sign_request({}, key);
    request.op = agent::RequestOp::Decrypt;
    request.protocol = "s/mime";
    request.message_id = "<agent-test@example.org>";
    request.mechanism = mechanism;
    request.data = std::move(data);
    return request;
}

TEST(Agent, UnwrapsAnRsaKeyAndDerivesEcdhForTheSmimePathAndAuditsBoth) {
    AgentWorld world;
    world.start();
    auto client = world.connect();
    CountingPinSource pins;
    // RSA-OAEP key transport, as a CMS KeyTransRecipientInfo carries it (SHA-1: SoftHSM 2.6
    // takes no other OAEP hash).
    auto rsa = public_key(world.softhsm().pubkey_pem("rsa2048"));
    ASSERT_TRUE(rsa);
    const std::vector<std::uint8_t> content_key(32, 0x77);
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(rsa.get(), nullptr));
    ASSERT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
    std::vector<std::uint8_t> wrapped(256);
    size_t len = wrapped.size();
    ASSERT_EQ(
        EVP_PKEY_encrypt(ctx.get(), wrapped.data(), &len, content_key.data(), content_key.size()),
        1);
    wrapped.resize(len);
    auto unwrapped = client.call(
        decrypt_request("pkcs11:token=test-token;object=rsa2048", "rsa-oaep-sha1", wrapped), &pins);
    ASSERT_TRUE(unwrapped) << unwrapped.error().message();
    EXPECT_EQ(base::from_hex(unwrapped->value("data", "")), content_key);
    // ECDH key agreement with an ephemeral peer, as a KeyAgreeRecipientInfo carries it.
    auto ec = public_key(world.softhsm().pubkey_pem("ecp256"));
    const EcdhPeer peer = ecdh_peer(ec.get());
    auto derived = client.call(
        decrypt_request("pkcs11:token=test-token;object=ecp256", "ecdh", peer.point), &pins);
    ASSERT_TRUE(derived) << derived.error().message();
    EXPECT_EQ(base::from_hex(derived->value("data", "")), peer.expected_secret);
    // Garbage gives the one decryption error, whatever went wrong.
    auto bad = client.call(decrypt_request("pkcs11:token=test-token;object=rsa2048", "rsa-pkcs1",
                                           std::vector<std::uint8_t>(256, 1)),
                           &pins);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "decryption failed");
    const std::string log = read_file(world.softhsm().audit_log());
    EXPECT_NE(log.find("\"operation\":\"decrypt\""), std::string::npos);
    EXPECT_NE(log.find("\"operation\":\"derive\""), std::string::npos);
    EXPECT_NE(log.find("<agent-test@example.org>"), std::string::npos);
}

TEST(Agent, MalformedTruncatedAndOversizedRequestsGetErrorsAndTheAgentSurvives) {
    AgentWorld world;
    world.start();
    {
        RawConnection c(world.socket_path());
        c.send_text("{not json");
        EXPECT_EQ(error_code_of(c.receive()), "bad_input");
        c.send_text(R"({"v":1,"id":1,"op":"sign","key":7,"digest":"00"})");
        json reply = c.receive();
        EXPECT_EQ(error_code_of(reply), "bad_input");
        EXPECT_NE(reply["error"]["message"].get<std::string>().find("key must be a string"),
                  std::string::npos);
        EXPECT_TRUE(c.ping()) << "a malformed frame does not end the connection";
        // A PIN nobody asked for is refused, and wiped.
        const std::vector<std::uint8_t> pin = {'1', '2'};
        c.send(agent::frame(agent::k_kind_pin, pin));
        EXPECT_EQ(error_code_of(c.receive()), "bad_input");
        EXPECT_TRUE(c.ping());
    }
    {
        RawConnection c(world.socket_path());
        c.send({0x7f, 0xff, 0xff, 0xff, 'J'});  // 2 GiB announced
        json reply = c.receive();
        EXPECT_EQ(error_code_of(reply), "bad_input");
        EXPECT_NE(reply["error"]["message"].get<std::string>().find("at most 65536"),
                  std::string::npos);
        EXPECT_TRUE(c.receive().is_null()) << "the agent closes a stream it cannot resync";
    }
    {
        RawConnection c(world.socket_path());
        c.send({0, 0, 0, 100, 'J', '{', '"'});  // 100 bytes announced, 2 sent
        ::shutdown(c.fd.get(), SHUT_WR);
        json reply = c.receive();
        EXPECT_EQ(error_code_of(reply), "bad_input");
        EXPECT_NE(reply["error"]["message"].get<std::string>().find("truncated"),
                  std::string::npos);
    }
    {
        RawConnection c(world.socket_path());
        c.send({0, 0, 0, 2, 'X', 0});  // unknown kind
        EXPECT_EQ(error_code_of(c.receive()), "bad_input");
    }
    // After all that, real work still gets done.
    auto client = world.connect();
    CountingPinSource pins;
    const std::vector<std::uint8_t> digest(32, 0x5a);
    auto reply = client.call(sign_request(digest), &pins);
    ASSERT_TRUE(reply) << reply.error().message();
    EXPECT_TRUE(verifies(read_file(world.softhsm().pubkey_pem("ecp256")), digest,
                         *base::from_hex(reply->value("signature", ""))));
}

TEST(Agent, AConnectionFromAnotherUidIsRefusedAndAudited) {
    if (::getuid() != 0) GTEST_SKIP() << "needs root to become another user";
    AgentWorld world;
    world.start();
    // Loosen the permissions as a careless admin might: SO_PEERCRED must still refuse.
    const std::string dir = world.runtime_dir() + "/keyfence";
    ASSERT_EQ(::chmod(world.runtime_dir().c_str(), 0755), 0);
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(world.socket_path().c_str(), 0666), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
        auto fd = agent::connect_to(world.socket_path());
        if (!fd) ::_exit(11);
        std::array<std::uint8_t, 5> header{};
        auto got = agent::recv_exact(fd->get(), header);
        if (!got || !*got) ::_exit(12);
        std::vector<std::uint8_t> body(agent::frame_length(std::span(header).first<4>()) - 1);
        if (!agent::recv_exact(fd->get(), body)) ::_exit(13);
        const json reply = json::parse(body.begin(), body.end(), nullptr, false);
        if (error_code_of(reply) != "policy_denied") ::_exit(14);
        std::uint8_t more = 0;
        auto end = agent::recv_exact(fd->get(), std::span(&more, 1));
        ::_exit(end && !*end ? 0 : 15);  // and the connection is closed
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    ::chmod(dir.c_str(), 0700);
    ::chmod(world.runtime_dir().c_str(), 0700);
    const std::string log = read_file(world.softhsm().audit_log());
    EXPECT_NE(log.find("\"rule\":\"agent.same_uid\""), std::string::npos) << log;
    EXPECT_NE(log.find("\"uid\":65534"), std::string::npos) << log;
}

TEST(Agent, TakesItsSocketFromSystemdSocketActivation) {
    AgentWorld world;
    const std::string dir = world.runtime_dir() + "/keyfence";
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    auto listening = agent::listen_on(world.socket_path());
    ASSERT_TRUE(listening);
    // What an agent killed with a PGP/MIME session leaves (engine/held_record.hpp); systemd
    // restarts the agent with the same socket, and it ends the session before serving.
    const std::string home = world.runtime_dir() + "/left-home";
    ASSERT_EQ(::mkdir(home.c_str(), 0700), 0);
    const std::string record = dir + "/held-sessions.json";
    ASSERT_TRUE(engine::write_held_records(
        record, {{home, "left-token", "LEFT-SERIAL-1", k_softhsm_module, 1}}));
    // As systemd does it (sd_listen_fds(3)): the socket as fd 3, LISTEN_PID the agent's pid
    // (the shell's, which exec keeps), LISTEN_FDS=1.
    const pid_t pid = spawn({"/bin/sh", "-c",
                             std::string("LISTEN_PID=$$ LISTEN_FDS=1 exec ") + KEYFENCED_BINARY +
                                 " --no-p11-kit --module " + k_softhsm_module},
                            world.env(), {{listening->get(), 3}});
    listening = agent::UniqueFd();  // only the agent holds it now
    // Connections queue on the inherited socket until the agent accepts them.
    auto client = world.connect();
    agent::Request ping;
    auto pong = client.call(ping, nullptr);
    ASSERT_TRUE(pong) << pong.error().message();
    EXPECT_EQ(pong->value("pid", 0), pid);
    EXPECT_FALSE(std::filesystem::exists(record)) << "the left session was not ended";
    const std::string audit = read_file(world.softhsm().audit_log());
    EXPECT_NE(audit.find("\"operation\":\"end-left-session\""), std::string::npos) << audit;
    EXPECT_NE(audit.find("LEFT-SERIAL-1"), std::string::npos) << audit;
    CountingPinSource pins;
    EXPECT_TRUE(client.call(sign_request(std::vector<std::uint8_t>(32, 4)), &pins));
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Agent, RefusesToStartInADirectoryThatIsNotPrivate) {
    AgentWorld world;
    const std::string dir = world.runtime_dir() + "/keyfence";
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    EXPECT_THROW(world.start(), std::runtime_error);
    // And a client does not use a socket there either.
    auto client = agent::AgentClient::connect(world.socket_path());
    ASSERT_FALSE(client);
    EXPECT_EQ(client.error().code, base::ErrorCode::PolicyDenied);
}

TEST(Agent, ADisconnectedClientsQueuedWorkIsCancelled) {
    AgentWorld world;
    world.start();
    {
        // Queue many signatures and hang up without reading a reply; the agent answers the
        // PIN requests of a client that is gone with nothing and drops the rest.
        RawConnection c(world.socket_path());
        for (int i = 0; i < 50; ++i) {
            auto request = sign_request(std::vector<std::uint8_t>(32, 1));
            request.id = static_cast<std::uint64_t>(i + 1);
            c.send(agent::json_frame(agent::request_json(request)));
        }
    }
    auto client = world.connect();
    agent::Request status;
    status.op = agent::RequestOp::Status;
    // The agent notices the hang-up on its own thread; wait for the queue to drain.
    int queued = -1;
    for (int i = 0; i < 200 && queued != 0; ++i) {
        auto reply = client.call(status, nullptr);
        ASSERT_TRUE(reply) << reply.error().message();
        queued = reply->value("queued", -1);
        if (queued != 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(queued, 0);
    // Every job that ran left an audit record (cancelled: no PIN came); the rest never ran.
    std::size_t records = 0;
    const std::string log = std::filesystem::exists(world.softhsm().audit_log())
                                ? read_file(world.softhsm().audit_log())
                                : std::string();
    for (std::size_t at = 0; (at = log.find("\"operation\":\"sign\"", at)) != std::string::npos;
         ++at) {
        ++records;
    }
    EXPECT_LE(records, 2u) << log;
    EXPECT_EQ(log.find("\"result\":\"success\""), std::string::npos);
    CountingPinSource pins;
    auto signed_ = client.call(sign_request(std::vector<std::uint8_t>(32, 2)), &pins);
    EXPECT_TRUE(signed_) << signed_.error().message();
}

}  // namespace
