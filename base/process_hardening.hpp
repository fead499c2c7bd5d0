#pragma once
// Process-wide protections applied once at start, before any PIN can exist.

#include "base/result.hpp"

namespace keyfence::base {

/// Makes the process non-dumpable (no core dumps, no ptrace by same-uid processes:
/// prctl(PR_SET_DUMPABLE, 0)), sets RLIMIT_CORE to 0 and creates the secure heap.
/// Call first thing in main(). Returns the secure-heap error if the heap cannot be created.
Status harden_process();

}  // namespace keyfence::base
