#pragma once
// PGP/MIME signing of a large message in one pass (docs/pgp.md, "Large messages"): the
// canonical body goes, as GMime produces it, to the SHA-256 shown on the PIN prompt, to the
// output (after the multipart/signed frame's head) and to gpg's standard input through a pipe,
// where gpg hashes it on its own core. No temporary copy of the body, one read of the input.
//
// The order is what keeps "what you see is what you sign": gpg asks for the PIN (loopback
// GET_HIDDEN) only after its input has ended, and stream() leaves that input open. Only when
// the engine has admitted the operation, with the final SHA-256 and size on its prompt and
// confirmation, does finish() end it; abandon() (or destruction) kills gpg instead, which has
// then made no signature.
//
// For RSA keys only: gpg-agent verifies a token's RSA signature before gpg uses it (the fault
// defence, see finish_file_signature() in mail/pgp/sign.hpp). ECDSA and EdDSA keys use the
// two-pass path (prepare_file_content, finish_file_signature), whose second gpg checks the
// signature over the prepared file.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/context.hpp"
#include "mail/pgp/gpg_process.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

/// One signature of one message. Move-only; not thread-safe.
class OnePassSignature {
  public:
    /// Parses the message in the file at `path` file-backed, makes its body 7bit (RFC 3156
    /// §3), fixes the hash (signing_digest(): micalg) and the frame's head. No gpg runs yet.
    /// Errors: BadInput (not a message), Io, Internal, Unsupported (`signer` has a signing key
    /// that is not RSA: agent_checks_signatures()).
    static base::Result<OnePassSignature> open(const std::string& path, gpgme_key_t signer);

    OnePassSignature(OnePassSignature&&) noexcept = default;
    OnePassSignature& operator=(OnePassSignature&&) = delete;  // as GpgProcess
    OnePassSignature(const OnePassSignature&) = delete;        // one gpg, one output
    OnePassSignature& operator=(const OnePassSignature&) = delete;
    ~OnePassSignature() = default;

    const mime::MessageHeaders& headers() const noexcept { return m_message.headers(); }

    /// Starts gpg on `ctx` (--detach-sign with the fixed --digest-algo; its PIN request goes to
    /// the answerer installed on `ctx`, which must be in place now) and writes the frame's head
    /// and then the canonical body to `out`, to gpg and to the SHA-256, in 1 MiB blocks.
    /// gpg's input stays open. `out` must show nothing until the command succeeded
    /// (AtomicOutput). Errors: Io (gpg), Internal (GMime), and `out`'s.
    base::Status stream(Context& ctx, const OutputFn& out, const smime::ProgressFn& progress = {});

    /// After stream(): the signed content's size and SHA-256 (what the prompt shows).
    std::uint64_t content_size() const noexcept { return m_size; }
    const std::vector<std::uint8_t>& sha256() const noexcept { return m_sha256; }

    /// After stream() and the engine's admission: ends gpg's input; gpg asks for the PIN and
    /// signs. The signature must be gpg's SIG_CREATED by an RSA key with the hash of the micalg
    /// written, else nothing more is written and the output is to be dropped. Then writes the
    /// signature part and the close delimiter. Returns the micalg. Errors: those of
    /// gpg_error() (PinIncorrect, Cancelled, ...), ModuleFailure, Internal, Io, and `out`'s.
    base::Result<std::string> finish();

    /// Kills gpg before it read the end of its input: no signature is made.
    void abandon() noexcept;

  private:
    OnePassSignature(mime::Message message, mime::GPtr<GMimeObject> body, SigningDigest digest,
                     std::string fingerprint)
        : m_message(std::move(message)),
          m_body(std::move(body)),
          m_digest(digest),
          m_fingerprint(std::move(fingerprint)) {}
    base::Result<std::pair<std::string, std::string>> frame(const std::string& signature);

    mime::Message m_message;
    mime::GPtr<GMimeObject> m_body;  ///< the 7bit body entity: what is signed
    SigningDigest m_digest;
    std::string m_fingerprint;  ///< --local-user
    std::string m_boundary;     ///< of the multipart/signed, fixed by the head
    std::string m_head;         ///< written before the body
    OutputFn m_out;
    std::optional<GpgProcess> m_gpg;
    /// gpg's standard output; on the heap, where gpg's output callback finds it after a move.
    std::unique_ptr<std::string> m_signature = std::make_unique<std::string>();
    std::uint64_t m_size = 0;
    std::vector<std::uint8_t> m_sha256;
};

}  // namespace keyfence::mail::pgp
