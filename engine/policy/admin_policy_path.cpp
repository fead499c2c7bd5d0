// The administrator's policy path of the keyfence program. It is fixed when Keyfence is built
// (CMake cache variable KEYFENCE_ADMIN_POLICY) and nothing at run time changes it: a user must
// not be able to point Keyfence at a policy of their own choosing.
//
// This file is alone in its object file on purpose: the test programs define
// admin_policy_path() themselves (tests/support/admin_policy_path_for_tests.cpp), and a linker
// that already has the symbol from an object file never takes this member of the archive.

#include "engine/policy/effective_policy.hpp"

#ifndef KEYFENCE_ADMIN_POLICY
#error "KEYFENCE_ADMIN_POLICY must be defined by the build (engine/CMakeLists.txt)"
#endif

namespace keyfence::engine::policy {

std::string admin_policy_path() {
    return KEYFENCE_ADMIN_POLICY;
}

}  // namespace keyfence::engine::policy
