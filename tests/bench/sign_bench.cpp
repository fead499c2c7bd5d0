// Signing a SHA-256 digest through keyfence_token (KeyLease::sign_digest, which also verifies
// the token's signature with the public key before releasing it) against a direct C_Sign on
// the same SoftHSM key in the same logged-in session state, measured in one run. Prints the
// ratio; the goal for the token layer is <= 1.05.
//
//   build/release/tests/bench/sign_bench   (./scripts/bench builds and runs it)

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>

#include "base/handles.hpp"
#include "base/process_hardening.hpp"
#include "tests/support/fixed_pin_source.hpp"
#include "tests/support/test_world.hpp"
#include "token/pkcs11/key_lease.hpp"

namespace {
using namespace keyfence;
namespace p11 = token::pkcs11;

struct Fixture {
    test::SoftHsmWorld world;
    p11::ModuleSet modules = p11::load_modules({test::k_softhsm_module}, false);
    test::FixedPinSource pins{test::k_user_pin};
    std::map<std::string, std::unique_ptr<p11::KeyLease>> leases;

    p11::KeyLease& lease(const std::string& label) {
        auto& slot = leases[label];
        if (!slot) {
            auto uri = p11::Uri::parse("pkcs11:token=test-token;object=" + label);
            auto match = p11::select_key(modules, *uri);
            auto l = p11::KeyLease::acquire(std::move(*match), pins, {}, {});
            if (!l) {
                std::fprintf(stderr, "lease failed: %s\n", l.error().message().c_str());
                std::exit(1);
            }
            slot = std::make_unique<p11::KeyLease>(std::move(*l));
        }
        return *slot;
    }
};
Fixture* g_fixture = nullptr;

const std::vector<std::uint8_t> k_digest(32, 0x42);

void keyfence_sign(benchmark::State& state, const std::string& label) {
    p11::KeyLease& lease = g_fixture->lease(label);
    for (auto _ : state) {
        auto sig = lease.sign_digest(p11::Hash::Sha256, k_digest, p11::SignPadding::Pkcs1v15);
        if (!sig) state.SkipWithError(sig.error().message().c_str());
        benchmark::DoNotOptimize(sig);
    }
}

// The same operation as a PKCS#11 programmer would write it by hand: one C_SignInit and one
// C_Sign into a buffer large enough, on a session of the same logged-in application.
void direct_c_sign(benchmark::State& state, const std::string& label) {
    p11::KeyLease& lease = g_fixture->lease(label);  // keeps the login and finds the handle
    auto session = p11::Session::open(g_fixture->modules.modules.front(), lease.token().slot_id);
    const bool rsa = lease.key().algorithm == p11::KeyAlgorithm::Rsa;
    std::vector<std::uint8_t> data =
        rsa ? *p11::digest_info(p11::Hash::Sha256, k_digest) : k_digest;
    CK_MECHANISM mechanism{rsa ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0};
    CK_FUNCTION_LIST* f = session->functions();
    std::vector<std::uint8_t> out(512);
    for (auto _ : state) {
        CK_ULONG len = out.size();
        if (f->C_SignInit(session->handle(), &mechanism, lease.key().handle) != CKR_OK ||
            f->C_Sign(session->handle(), data.data(), data.size(), out.data(), &len) != CKR_OK) {
            state.SkipWithError("C_Sign failed");
        }
        benchmark::DoNotOptimize(out.data());
    }
}

// The fault-defence check alone: OpenSSL verifying one signature with the key's public key.
void verify_check(benchmark::State& state, const std::string& label) {
    p11::KeyLease& lease = g_fixture->lease(label);
    auto sig = lease.sign_digest(p11::Hash::Sha256, k_digest, p11::SignPadding::Pkcs1v15);
    for (auto _ : state) {
        base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(lease.public_key(), nullptr));
        EVP_PKEY_verify_init(ctx.get());
        EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256());
        benchmark::DoNotOptimize(
            EVP_PKEY_verify(ctx.get(), sig->data(), sig->size(), k_digest.data(), k_digest.size()));
    }
}

class RatioReporter : public benchmark::ConsoleReporter {
  public:
    RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            if (r.run_type == Run::RT_Iteration)
                times[r.benchmark_name()] = r.GetAdjustedRealTime();
        }
        ConsoleReporter::ReportRuns(runs);
    }
    std::map<std::string, double> times;
};
}  // namespace

int main(int argc, char** argv) {
    (void)base::harden_process();
    Fixture fixture;
    g_fixture = &fixture;
    for (const char* label : {"rsa2048", "ecp256"}) {
        benchmark::RegisterBenchmark((std::string("keyfence_sign/") + label).c_str(), keyfence_sign,
                                     std::string(label));
        benchmark::RegisterBenchmark((std::string("direct_C_Sign/") + label).c_str(), direct_c_sign,
                                     std::string(label));
        benchmark::RegisterBenchmark((std::string("verify_check/") + label).c_str(), verify_check,
                                     std::string(label));
    }
    benchmark::Initialize(&argc, argv);
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf(
        "\nkeyfence_token / direct C_Sign (same SoftHSM key, same run; goal <= 1.05).\n"
        "Keyfence verifies every signature before releasing it; the second column leaves\n"
        "that check (measured alone as verify_check) out, the third is its share:\n");
    for (const char* label : {"rsa2048", "ecp256"}) {
        const double ours = reporter.times[std::string("keyfence_sign/") + label];
        const double direct = reporter.times[std::string("direct_C_Sign/") + label];
        const double check = reporter.times[std::string("verify_check/") + label];
        if (ours > 0 && direct > 0) {
            std::printf("  %-8s %.3f   %.3f without the check   check %.1f us\n", label,
                        ours / direct, (ours - check) / direct, check / 1000.0);
        }
    }
    fixture.leases.clear();
    benchmark::Shutdown();
    return 0;
}
