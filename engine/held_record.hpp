#pragma once
// The agent's record of its held (PGP/MIME) PIN sessions: which GnuPG homes hold a token
// unlocked, for which token, until when. A held session's unlocked state lives in GnuPG's
// daemons, not in the agent, so an agent that dies without a clean stop (SIGKILL, a crash, the
// OOM killer) would leave it behind until the next Keyfence operation on that home. The agent
// rewrites this file (atomically: a temporary file renamed into place) whenever its held
// sessions change and removes it when none is left; the next agent ends every session it
// finds there at its start (docs/agent-protocol.md, "An agent that dies").

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace keyfence::engine {

/// One held session as recorded. No PIN, nothing secret: where the state is and whose it is.
struct HeldRecord {
    std::string homedir;  ///< the GnuPG home whose daemons hold the state
    std::string token_label;
    std::string token_serial;
    std::string module_path;    ///< "pcsc:READER" for an OpenPGP card, else the PKCS#11 module
    std::int64_t deadline = 0;  ///< the session's end (TTL), seconds since the epoch
};

/// $XDG_RUNTIME_DIR/keyfence/held-sessions.json (the agent's private directory).
/// Errors: Unsupported when XDG_RUNTIME_DIR is unset or relative.
base::Result<std::string> held_record_path();

/// Writes `records` to `path` atomically (0600); an empty list removes the file. Errors: Io.
base::Status write_held_records(const std::string& path, const std::vector<HeldRecord>& records);
/// The records in `path`; none when it does not exist. Errors: Io, BadInput (not a record).
base::Result<std::vector<HeldRecord>> read_held_records(const std::string& path);

}  // namespace keyfence::engine
