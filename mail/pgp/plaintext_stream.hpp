#pragma once
// gpg's plaintext of a PGP/MIME message as it comes out of gpg (docs/pgp.md, "Large
// messages"). The head is held until the decrypted entity's header block is complete; then
// `decide` says whether the entity can go straight to the output — the outer headers GMime
// writes, then the plaintext with every bare LF made CRLF, which is what GMime's parse and
// canonical write of the entity give for a well-formed entity — or must be kept whole for the
// parsing path (a signed entity inside, something unusual): then it is spooled to an unlinked
// temporary file. Lines are held to Keyfence's line limit (docs/limits.md) on the way.
//
// The output receives bytes before gpg has finished: it must expose nothing until the caller
// commits it (base::AtomicOutput), and the caller must not commit unless gpg reported success.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "mail/mime/canonical.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

class PlaintextStream {
  public:
    using Output = std::function<base::Status(std::string_view)>;
    /// Given the entity's header block (up to and including its empty line): the bytes to
    /// write before the entity, or nullopt to spool the plaintext instead.
    using Decide = std::function<std::optional<std::string>(std::string_view head)>;
    /// The most held before deciding; a header block longer than this is spooled.
    static constexpr std::size_t k_max_head = 64 * 1024;

    PlaintextStream(Output out, Decide decide);
    PlaintextStream(const PlaintextStream&) = delete;  // holds the output's state
    PlaintextStream& operator=(const PlaintextStream&) = delete;

    /// gpg's output, in pieces of any size. False stops gpg: the output or the spool failed,
    /// or a line is over the limit (the error is in status()).
    bool write(std::string_view bytes);
    /// After gpg's last byte. Then either streamed() (all written to the output, flushed) or
    /// spool() holds the plaintext. Errors: the output's, Io, BadInput (line limit).
    base::Status finish();

    bool streamed() const noexcept { return m_mode == Mode::Direct; }
    /// The spooled plaintext, after finish() when not streamed().
    const smime::TempFile* spool() const noexcept { return m_spool ? &*m_spool : nullptr; }
    const base::Status& status() const noexcept { return m_status; }

  private:
    enum class Mode { Head, Direct, Spool };
    bool choose();
    bool direct(std::string_view bytes);
    bool fail(base::Error error);

    Output m_out;
    Decide m_decide;
    Mode m_mode = Mode::Head;
    std::string m_head;
    smime::BufferedWriter m_writer;
    mime::CrlfConverter m_crlf;
    std::size_t m_line = 0;  ///< bytes of the current line so far
    std::optional<smime::TempFile> m_spool;
    base::Status m_status;
};

}  // namespace keyfence::mail::pgp
