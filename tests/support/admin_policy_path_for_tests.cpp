// The administrator's policy path of the test programs (keyfence-for-tests and the GoogleTest
// binaries): $KEYFENCE_TEST_ADMIN_POLICY, else a file in the build tree that does not exist.
// It replaces engine/policy/admin_policy_path.cpp at link time, so the keyfence program itself
// has no such variable (CliPolicy.ProductionBinaryIgnoresTheTestVariable checks it). Tests
// never read or write the real /etc/keyfence.

#include <cstdlib>

#include "engine/policy/effective_policy.hpp"

namespace keyfence::engine::policy {

std::string admin_policy_path() {
    if (const char* path = std::getenv("KEYFENCE_TEST_ADMIN_POLICY")) return path;
    return KEYFENCE_TEST_DEFAULT_ADMIN_POLICY;
}

}  // namespace keyfence::engine::policy
