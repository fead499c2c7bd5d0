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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/stream_data.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

/// GpgRun::stdin_fd for a gpg whose standard input the caller writes (GpgProcess::feed).
constexpr int k_gpg_stdin_pipe = -2;

struct GpgRun {
    std::vector<std::string> arguments;  ///< after gpg's common options (home, status, PIN)
    /// Read from its start; -1: /dev/null; k_gpg_stdin_pipe: a pipe fed by GpgProcess::feed().
    int stdin_fd = -1;
    ByteFn output;               ///< gpg's standard output as it comes; null: discarded
    std::uint64_t total = 0;     ///< the input's size, for `progress`
    smime::ProgressFn progress;  ///< from gpg's PROGRESS lines
};

struct GpgResult {
    std::vector<std::string> status;  ///< every status line, without "[GNUPG:] "
    bool exited_ok = false;           ///< gpg exited with 0
    gpgme_error_t failure = 0;        ///< the code of gpg's FAILURE (else first ERROR) line
    bool output_failed = false;       ///< `output` returned false: gpg was stopped

    /// The arguments of the first status line with `keyword`; nullopt when there is none.
    std::optional<std::string> find(const std::string& keyword) const;
};

/// One running gpg. Its status lines are handled (PIN requests answered by the context's
/// once-only answerer, installed before start()) and its output passed on whenever the caller
/// feeds it or waits for it. Move-only; not thread-safe. Destroyed before finish(), it kills gpg
/// (SIGKILL) and reaps it: a gpg whose standard input is a pipe still open has not read the
/// end of its input, so it has signed or decrypted nothing.
class GpgProcess {
  public:
    /// Starts gpg (GPGME's engine program) on the context's home. Errors: Io when gpg cannot
    /// be run or a pipe cannot be made.
    static base::Result<GpgProcess> start(Context& ctx, GpgRun run);
    GpgProcess(GpgProcess&& other) noexcept;
    GpgProcess& operator=(GpgProcess&&) = delete;
    GpgProcess(const GpgProcess&) = delete;  // one child, reaped once
    GpgProcess& operator=(const GpgProcess&) = delete;
    ~GpgProcess();

    /// Writes `bytes` to gpg's standard input (run with k_gpg_stdin_pipe), handling its status
    /// lines and output meanwhile. Errors: Io when gpg stopped reading (it exited or failed).
    base::Status feed(std::string_view bytes);
    /// Closes gpg's standard input (the end of its input) and handles gpg until it exits.
    /// Errors: Io when its pipes fail; what gpg reports is in the result.
    base::Result<GpgResult> finish();
    /// Kills gpg now (SIGKILL) and reaps it.
    void kill() noexcept;

  private:
    GpgProcess() = default;
    bool service(bool want_write);  // one poll round; false when a pipe failed

    struct State;
    std::unique_ptr<State> m_state;
};

/// Runs gpg (GPGME's engine program) on the context's home. Errors: Io when gpg cannot be run
/// or its pipes fail; what gpg reports is in the result.
base::Result<GpgResult> run_gpg(Context& ctx, const GpgRun& run);

}  // namespace keyfence::mail::pgp
