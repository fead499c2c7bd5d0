#pragma once
// PGP/MIME signing in one pass (docs/pgp.md, "sign" and "Large messages"): the canonical body
// goes, as GMime produces it, to the output (after the multipart/signed frame's head) and to
// the hashes: the SHA-256 shown on the PIN prompt and the signature's hash (the same one, unless
// the key's curve needs SHA-384 or SHA-512), whose state, continued over the signature's
// trailer, gives the digest the token signs. gpg-agent signs that digest
// (mail/pgp/agent_sign.hpp, which also checks the signature: the fault defence) and Keyfence
// makes the signature packet (mail/pgp/signature_packet.hpp): the body is read once and hashed
// once, and no gpg reads it. For RSA, ECDSA and EdDSA keys, the algorithms of token keys.
//
// The order keeps "what you see is what you sign": the agent is asked only in finish(), which
// the caller calls once the engine has admitted the operation with the final SHA-256 and size
// on its prompt and confirmation. Until then nothing but the output's temporary file has seen
// the content, and no daemon has been asked anything.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/passphrase.hpp"
#include "mail/pgp/sign.hpp"
#include "mail/pgp/signature_packet.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

/// One signature of one message. Move-only; not thread-safe.
class OnePassSignature {
  public:
    /// Parses the message in the file at `path` file-backed, makes its body 7bit (RFC 3156
    /// §3), fixes the signing subkey (the one describe() names), the hash (signature_hash():
    /// the micalg) and the frame's head. Errors: BadInput (not a message), Io, Internal,
    /// Unsupported (the signing subkey is not RSA, ECDSA or EdDSA).
    static base::Result<OnePassSignature> open(const std::string& path, gpgme_key_t signer);

    OnePassSignature(OnePassSignature&&) noexcept = default;
    OnePassSignature& operator=(OnePassSignature&&) = delete;
    OnePassSignature(const OnePassSignature&) = delete;  // one hash, one output
    OnePassSignature& operator=(const OnePassSignature&) = delete;
    ~OnePassSignature() = default;

    const mime::MessageHeaders& headers() const noexcept { return m_message.headers(); }

    /// Writes the frame's head and then the canonical body to `out` and to the hash, in 1 MiB
    /// blocks (hashed and handed to `out` on a second thread, in order). `out` must show nothing
    /// until the command succeeded (AtomicOutput). Errors: Io, Internal (GMime), and `out`'s.
    base::Status stream(const OutputFn& out, const smime::ProgressFn& progress = {});

    /// After stream(): the signed content's size and SHA-256 (what the prompt shows).
    std::uint64_t content_size() const noexcept { return m_size; }
    const std::vector<std::uint8_t>& sha256() const noexcept { return m_sha256; }

    /// After stream() and the engine's admission: the gpg-agent of `homedir` signs the digest
    /// with the signing subkey (its PIN request answered by `answerer`); then the signature part
    /// and the close delimiter are written. Returns the micalg. Errors: those of
    /// agent_sign_digest() (PinIncorrect, Cancelled, ...), ModuleFailure, Internal, and `out`'s.
    base::Result<std::string> finish(const std::string& homedir, PassphraseAnswerer& answerer);

  private:
    gpgme_hash_algo_t hash() const noexcept {
        return static_cast<gpgme_hash_algo_t>(m_params.hash_algo);
    }
    OnePassSignature(mime::Message message, mime::GPtr<GMimeObject> body, std::string keygrip,
                     SignatureParams params)
        : m_message(std::move(message)),
          m_body(std::move(body)),
          m_keygrip(std::move(keygrip)),
          m_params(params) {}
    base::Result<std::pair<std::string, std::string>> frame(const std::string& signature);

    mime::Message m_message;
    mime::GPtr<GMimeObject> m_body;  ///< the 7bit body entity: what is signed
    std::string m_keygrip;           ///< of the signing subkey, for the agent
    SignatureParams m_params;        ///< the creation time set by finish()
    std::string m_boundary;          ///< of the multipart/signed, fixed by the head
    std::string m_head;              ///< written before the body
    OutputFn m_out;
    std::optional<smime::Hasher> m_hash;  ///< after stream(): the body's; then the trailer
    std::uint64_t m_size = 0;
    std::vector<std::uint8_t> m_sha256;
};

}  // namespace keyfence::mail::pgp
