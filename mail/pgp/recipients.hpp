#pragma once
// Which keys an OpenPGP message is encrypted to, read before any decryption, so that the engine
// judges — and the PIN prompt names — the token key gpg will then use, and no other.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace keyfence::mail::pgp {

/// The key ids (16 hex digits, upper case) of the public-key encrypted session key packets of
/// `ciphertext` (RFC 4880 §5.1), listed by gpg --list-only --list-packets in `homedir` without
/// decrypting. Errors: BadInput (no such packet: not a public-key encrypted message), Io.
base::Result<std::vector<std::string>> message_recipients(const std::string& homedir,
                                                          std::string_view ciphertext);

/// As message_recipients(), for the armored or binary OpenPGP message in the file at `path`.
base::Result<std::vector<std::string>> message_recipients_file(const std::string& homedir,
                                                               const std::string& path);

/// As message_recipients_file(), for the `length` bytes of the open file `fd` from `offset`
/// (pread: the descriptor's offset is left alone). Errors: as message_recipients(), Io.
base::Result<std::vector<std::string>> message_recipients_range(const std::string& homedir, int fd,
                                                                std::uint64_t offset,
                                                                std::uint64_t length);

/// A private (0600) temporary file in `dir` that gpg can open by name, removed on destruction.
class HomeTempFile {
  public:
    explicit HomeTempFile(const std::string& dir);
    ~HomeTempFile();
    HomeTempFile(const HomeTempFile&) = delete;
    HomeTempFile& operator=(const HomeTempFile&) = delete;
    /// False when the file could not be created or written.
    bool write(std::string_view bytes);
    bool ok() const noexcept { return m_fd >= 0; }
    int fd() const noexcept { return m_fd; }
    const std::string& path() const noexcept { return m_path; }

  private:
    std::string m_path;
    int m_fd = -1;
};

/// True for the key id of a hidden recipient (gpg --throw-keyids: all zeros).
bool is_hidden_recipient(const std::string& keyid);

}  // namespace keyfence::mail::pgp
