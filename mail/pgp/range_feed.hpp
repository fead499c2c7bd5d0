#pragma once
// A byte range of a file as gpg's standard input (docs/pgp.md, "Large messages"): decrypt reads
// the payload part of a message where it is in the input file, and gpg must get exactly that
// part, never a byte before or after it.

#include <cstdint>

#include "base/result.hpp"
#include "mail/pgp/gpg_process.hpp"

namespace keyfence::mail::pgp {

/// Feeds `gpg` (started with k_gpg_stdin_pipe) the `length` bytes of the open file `fd` from
/// `offset`, in 1 MiB blocks read with pread (the descriptor's offset is left alone), handling
/// gpg's status lines and output meanwhile. Does not finish() it. True when gpg took it all;
/// false when gpg stopped reading first (it failed or was stopped: its status lines tell why).
/// Errors: Io when the file is shorter or cannot be read.
base::Result<bool> feed_file_range(GpgProcess& gpg, int fd, std::uint64_t offset,
                                   std::uint64_t length);

}  // namespace keyfence::mail::pgp
