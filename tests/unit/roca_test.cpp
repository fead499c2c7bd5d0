#include "token/roca.hpp"

#include <gtest/gtest.h>

#include "base/handles.hpp"

namespace keyfence::token {
namespace {

// A modulus with the ROCA structure: N = (65537^c mod M) + t*M, M the product of the test's
// primes, so N mod p is a power of 65537 for every p (what Infineon's primes produce).
base::BignumPtr roca_structured_modulus(int bits, unsigned c) {
    base::CPtr<BN_CTX, &BN_CTX_free> ctx(BN_CTX_new());
    base::BignumPtr m(BN_new()), g(BN_new()), e(BN_new()), t(BN_new()), n(BN_new());
    BN_one(m.get());
    for (unsigned p : roca_primes()) BN_mul_word(m.get(), p);
    BN_set_word(g.get(), 65537);
    BN_set_word(e.get(), c);
    BN_mod_exp(n.get(), g.get(), e.get(), m.get(), ctx.get());
    BN_rand(t.get(), bits - BN_num_bits(m.get()), BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
    base::BignumPtr tm(BN_new());
    BN_mul(tm.get(), t.get(), m.get(), ctx.get());
    BN_add(n.get(), n.get(), tm.get());
    return n;
}

TEST(Roca, FlagsModuliWithTheFingerprint) {
    for (unsigned c : {1u, 7u, 1234u, 99991u}) {
        auto n = roca_structured_modulus(2048, c);
        EXPECT_TRUE(has_roca_fingerprint(n.get())) << c;
    }
}

TEST(Roca, PassesOrdinaryModuli) {
    for (int i = 0; i < 3; ++i) {
        base::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
        ASSERT_TRUE(key);
        EXPECT_FALSE(has_roca_fingerprint(key.get()));
    }
    auto n = roca_structured_modulus(2048, 5);
    BN_add_word(n.get(), 1);  // one off: no longer in the subgroup modulo 3 or 5
    EXPECT_FALSE(has_roca_fingerprint(n.get()));
    base::EvpPkeyPtr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    EXPECT_FALSE(has_roca_fingerprint(ec.get()));
}

}  // namespace
}  // namespace keyfence::token
