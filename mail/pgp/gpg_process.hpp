#pragma once
// gpg run by Keyfence itself, for the bulk of a large message (docs/pgp.md, "Large messages"):
// gpg reads the prepared file directly as its standard input, so the content does not pass
// through GPGME (which copies it through a pipe and, in GPGME 1.18, formats every transferred
// block for its trace log even with tracing off). gpg's status lines (doc/DETAILS) are read on a
// pipe, and its PIN requests (loopback, GET_HIDDEN passphrase.enter on the command pipe) are
// answered by the once-only PassphraseAnswerer installed on the context, exactly as GPGME would
// relay them: one answer per operation, every further request refused (gpg is sent the cancel
// line, so the agent cancels instead of trying an empty PIN).

#include <gpgme.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/stream_data.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

struct GpgRun {
    std::vector<std::string> arguments;  ///< after gpg's common options (home, status, PIN)
    int stdin_fd = -1;                   ///< read from its start; -1: /dev/null
    /// With a length: gpg's standard input is a pipe fed with exactly `stdin_length` bytes of
    /// `stdin_fd` from `stdin_offset` (splice(2) on a thread of its own), never more: a part of
    /// a larger file. The descriptor's own offset is left alone.
    std::uint64_t stdin_offset = 0;
    std::optional<std::uint64_t> stdin_length;
    /// 1 MiB pipe buffers (F_SETPIPE_SZ, where the system allows) for gpg's standard input and
    /// output, read in 1 MiB blocks: for a large output, fewer wake-ups of gpg and of Keyfence.
    bool large_pipes = false;
    ByteFn output;               ///< gpg's standard output as it comes; null: discarded
    std::uint64_t total = 0;     ///< the input's size, for `progress`
    smime::ProgressFn progress;  ///< from gpg's PROGRESS lines
};

struct GpgResult {
    std::vector<std::string> status;  ///< every status line, without "[GNUPG:] "
    bool exited_ok = false;           ///< gpg exited with 0
    gpgme_error_t failure = 0;        ///< the code of gpg's FAILURE (else first ERROR) line
    bool output_failed = false;       ///< `output` returned false: gpg was stopped
    bool input_failed = false;        ///< the range could not be read (not: gpg stopped reading)

    /// The arguments of the first status line with `keyword`; nullopt when there is none.
    std::optional<std::string> find(const std::string& keyword) const;
};

/// Runs gpg (GPGME's engine program) on the context's home. Errors: Io when gpg cannot be run
/// or its pipes fail; what gpg reports is in the result.
base::Result<GpgResult> run_gpg(Context& ctx, const GpgRun& run);

}  // namespace keyfence::mail::pgp
