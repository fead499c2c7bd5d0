#include "token/roca.hpp"

#include <openssl/core_names.h>

#include <set>

#include "base/handles.hpp"

namespace keyfence::token {
namespace {
// 65537 generates a subgroup modulo each prime; its elements, by prime.
const std::vector<std::set<unsigned>>& subgroups() {
    static const std::vector<std::set<unsigned>> k_subgroups = [] {
        std::vector<std::set<unsigned>> all;
        for (unsigned p : roca_primes()) {
            std::set<unsigned> group;
            unsigned x = 1;
            do {
                group.insert(x);
                x = static_cast<unsigned>((static_cast<unsigned long long>(x) * (65537 % p)) % p);
            } while (x != 1);
            all.push_back(std::move(group));
        }
        return all;
    }();
    return k_subgroups;
}
}  // namespace

const std::vector<unsigned>& roca_primes() {
    static const std::vector<unsigned> k_primes = {
        3,  5,  7,  11, 13, 17,  19,  23,  29,  31,  37,  41,  43,  47,  53,  59,  61,  67,  71,
        73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
    return k_primes;
}

bool has_roca_fingerprint(const BIGNUM* n) {
    if (n == nullptr || BN_is_zero(n)) return false;
    const auto& primes = roca_primes();
    const auto& groups = subgroups();
    for (std::size_t i = 0; i < primes.size(); ++i) {
        const BN_ULONG residue = BN_mod_word(n, primes[i]);
        if (residue == static_cast<BN_ULONG>(-1)) return false;
        if (!groups[i].contains(static_cast<unsigned>(residue))) return false;
    }
    return true;
}

bool has_roca_fingerprint(EVP_PKEY* key) {
    if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return false;
    BIGNUM* n = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1) return false;
    base::BignumPtr owned(n);
    return has_roca_fingerprint(owned.get());
}

}  // namespace keyfence::token
