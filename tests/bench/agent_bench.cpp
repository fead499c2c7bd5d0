// The agent's cost, in one run: a P-256 signature on SoftHSM through keyfenced (client, socket,
// queue, worker, key lookup, Engine::sign_digest, reply) against the same lookup and
// Engine::sign_digest in-process,
// both inside a PIN session (one login, then no PIN per operation) and both writing their
// audit record; then the agent's throughput with 1, 4 and 16 concurrent clients. The goal for
// the per-operation ratio is <= 1.10.
//
//   ./scripts/bench   (builds Release and runs it; `agent_bench N` signs N times per figure)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "base/process_hardening.hpp"
#include "engine/engine.hpp"
#include "tests/agent/agent_world.hpp"
#include "tests/support/fixed_pin_source.hpp"

namespace {
using namespace keyfence;
using Clock = std::chrono::steady_clock;
const std::vector<std::uint8_t> k_digest(32, 0x42);
const char* k_key = "pkcs11:token=test-token;object=ecp256";

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double in_process_seconds_per_op(int n) {
    engine::EngineOptions options;
    options.modules = {test::k_softhsm_module};
    options.use_registered_modules = false;
    engine::Engine engine(options, std::make_unique<test::FixedPinSource>(test::k_user_pin));
    engine::OperationRequest request;
    request.key_uri = k_key;
    request.content_digest = "42";
    // What the agent does for each request, and keyfence sign for each run: find the key,
    // then Engine::sign_digest (policy, login or session, signature, check, audit record).
    const auto sign = [&] {
        auto match = engine.find_key(k_key);
        return match && engine.sign_digest(std::move(*match), request, k_digest);
    };
    (void)sign();  // opens the PIN session
    const auto start = Clock::now();
    for (int i = 0; i < n; ++i) {
        if (!sign()) std::exit(1);
    }
    return seconds_since(start) / n;
}

// Total signatures per second with `clients` connections signing `n` times each.
double agent_throughput(test::AgentWorld& world, int clients, int n) {
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    const auto start = Clock::now();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            auto client = world.connect();
            test::CountingPinSource pins;
            for (int i = 0; i < n; ++i) {
                if (!client.call(test::sign_request(k_digest, k_key), &pins)) ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    if (failures.load() != 0) std::exit(1);
    return clients * n / seconds_since(start);
}
}  // namespace

int main(int argc, char** argv) {
    (void)base::harden_process();
    const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
    test::AgentWorld world;
    world.set_policy(
        "[pin]\nmode = \"session\"\nsession_ttl = 86400\n"
        "session_max_operations = 100000\n");
    const double local = in_process_seconds_per_op(n);
    world.start();
    {
        auto client = world.connect();
        test::CountingPinSource pins;
        (void)client.call(test::sign_request(k_digest, k_key), &pins);  // opens the session
    }
    const double agent = 1.0 / agent_throughput(world, 1, n);
    std::printf("P-256 signature on SoftHSM, %d operations each, PIN session open, audited:\n", n);
    std::printf("  in-process  %8.1f us/op\n", local * 1e6);
    std::printf("  agent       %8.1f us/op   overhead %.1f us/op\n", agent * 1e6,
                (agent - local) * 1e6);
    std::printf("  ratio agent / in-process: %.3f   (goal <= 1.10)\n", agent / local);
    std::printf("agent throughput (one token, operations serialized):\n");
    for (int clients : {1, 4, 16}) {
        std::printf("  %2d client%s %8.0f signatures/s\n", clients, clients == 1 ? " " : "s",
                    agent_throughput(world, clients, std::max(1, n / clients)));
    }
    world.stop();
    return 0;
}
