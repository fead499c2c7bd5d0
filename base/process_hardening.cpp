#include "base/process_hardening.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include "base/secure_buffer.hpp"

namespace keyfence::base {

Status harden_process() {
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    return init_secure_heap();
}

}  // namespace keyfence::base
