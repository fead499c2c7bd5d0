#pragma once
// KeyLease: one authorized use of one private key. It owns a logged-in session on the key's
// token and keeps the module loaded; on destruction it logs out and closes the session. Nothing
// here can export a private key: every private-key operation is a call into the token.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/handles.hpp"
#include "base/pin.hpp"
#include "base/result.hpp"
#include "token/pin/lockout_guard.hpp"
#include "token/pin/pin_source.hpp"
#include "token/pkcs11/mechanisms.hpp"
#include "token/pkcs11/registry.hpp"
#include "token/pkcs11/session.hpp"

namespace keyfence::token::pkcs11 {

enum class SignPadding { Pkcs1v15, Pss };
enum class DecryptPadding { Pkcs1v15, OaepSha1, OaepSha256 };

/// libp11's slot list for one module; released after the EVP_PKEY taken from it.
struct Libp11Slots {
    PKCS11_CTX* ctx = nullptr;
    PKCS11_SLOT* slots = nullptr;
    unsigned int count = 0;
    Libp11Slots() = default;
    Libp11Slots(Libp11Slots&& o) noexcept;
    Libp11Slots& operator=(Libp11Slots&&) = delete;
    Libp11Slots(const Libp11Slots&) = delete;  // one release per enumeration
    ~Libp11Slots();
};

class KeyLease {
  public:
    /// Opens a session on the key's token and logs in through `source`, guarded by the lockout
    /// rules; then finds the private key itself (tokens may hide it until login).
    /// Errors: PinIncorrect, PinLocked, LastTryRefused, Cancelled, KeyNotFound, TokenRemoved...
    static base::Result<KeyLease> acquire(KeyMatch match, token::PinSource& source,
                                          token::PinRequest request,
                                          const token::LockoutOptions& lockout);

    KeyLease(KeyLease&&) noexcept;
    KeyLease& operator=(KeyLease&&) = delete;
    KeyLease(const KeyLease&) = delete;  // one login, one logout
    KeyLease& operator=(const KeyLease&) = delete;
    ~KeyLease();

    /// Signs a digest on the token: RSA PKCS#1 v1.5 (CKM_RSA_PKCS over a DigestInfo), RSA-PSS
    /// (CKM_RSA_PKCS_PSS) or ECDSA (CKM_ECDSA; returned as DER). The signature is verified with
    /// the key's public key before it is returned, so a faulty token's output never leaves.
    base::Result<std::vector<std::uint8_t>> sign_digest(Hash hash,
                                                        std::span<const std::uint8_t> digest,
                                                        SignPadding padding);
    /// Decrypts an RSA-encrypted block on the token (CKM_RSA_PKCS or CKM_RSA_PKCS_OAEP). Every
    /// failure of the data gives one and the same error, so that padding errors cannot be told
    /// apart from other failures (Bleichenbacher, Marvin).
    base::Result<base::SecureBuffer> decrypt(DecryptPadding padding,
                                             std::span<const std::uint8_t> ciphertext);
    /// ECDH on the token (CKM_ECDH1_DERIVE, no KDF) with the peer's uncompressed point; returns
    /// the shared secret (the x coordinate, PKCS#11 3.0 §2.3.15).
    base::Result<base::SecureBuffer> derive_ecdh(std::span<const std::uint8_t> peer_point);

    /// The key as an OpenSSL EVP_PKEY through libp11, for OpenSSL's own code (CMS). Every
    /// private-key operation on it runs on the token in this lease's login. Valid while the
    /// lease lives. Errors: Unsupported when libp11 cannot enumerate the token (EdDSA keys).
    base::Result<EVP_PKEY*> evp_pkey();

    /// Writes the X.509 certificate `der` onto the token beside the key: a CKO_CERTIFICATE
    /// (CKC_X_509) token object with the key's CKA_ID and CKA_LABEL and the certificate's
    /// CKA_SUBJECT and CKA_VALUE, created in a R/W session under this lease's login. A
    /// certificate already there with the same bytes is left alone; another certificate with
    /// the key's id is replaced only when `replace` (the new one is created first, then the old
    /// one destroyed). Errors: BadInput (not a certificate, or not for this key), Usage (a
    /// different certificate exists and !replace), and those of C_CreateObject.
    base::Status store_certificate(std::span<const std::uint8_t> der, bool replace);

    /// The key's public key (from its public key object, certificate or private key object).
    EVP_PKEY* public_key() const noexcept { return m_public_key.get(); }
    const ObjectInfo& key() const noexcept { return m_match.key; }
    const TokenInfo& token() const noexcept { return m_match.token; }
    /// Private-key operations performed on the token through this lease.
    int operations() const noexcept { return m_operations; }
    /// Leaves the login in place when the lease ends: a PIN session (engine/session.hpp) that
    /// holds its own session on the token keeps it, and ends it with its logout.
    void keep_login() noexcept { m_keep_login = true; }
    /// The PKCS#11 session of this lease (for a PIN session to open its own beside it).
    const Session& session() const noexcept { return *m_session; }

  private:
    explicit KeyLease(KeyMatch match) : m_match(std::move(match)) {}
    base::Status find_private_key();
    base::Status authenticate_operation();

    // Declared in destruction-safe order: the libp11 key goes first, the module last.
    KeyMatch m_match;
    std::optional<Session> m_session;
    std::optional<base::Pin> m_kept_pin;
    base::EvpPkeyPtr m_public_key;
    std::optional<Libp11Slots> m_libp11_slots;
    base::EvpPkeyPtr m_libp11_key;
    int m_operations = 0;
    bool m_keep_login = false;
};

}  // namespace keyfence::token::pkcs11
