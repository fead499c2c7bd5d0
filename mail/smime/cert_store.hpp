#pragma once
// Keyfence's store of other people's certificates: one PEM file per certificate, named by its
// SHA-256 fingerprint, in ${XDG_DATA_HOME:-~/.local/share}/keyfence/certs. Filled by
// `keyfence certs add` and by signatures that verified; read by `smime encrypt --to ADDRESS`.

#include <filesystem>
#include <string>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"

namespace keyfence::mail::smime {

class CertStore {
  public:
    /// The store at `dir` (created on the first add).
    explicit CertStore(std::filesystem::path dir) : m_dir(std::move(dir)) {}
    /// The user's store. Errors: Io when neither XDG_DATA_HOME nor HOME is set.
    static base::Result<CertStore> user_store();

    /// Stores `cert` (atomically; a certificate already there is left as is). Returns its
    /// SHA-256 fingerprint. Errors: Io.
    base::Result<std::string> add(X509* cert) const;
    /// Every certificate in the store; unreadable files are skipped. Errors: Io.
    base::Result<std::vector<base::X509Ptr>> all() const;
    /// The certificate for `address` (case-insensitive) that is valid now, the one valid the
    /// longest when several are. Errors: KeyNotFound.
    base::Result<base::X509Ptr> find_by_email(const std::string& address) const;

    const std::filesystem::path& dir() const noexcept { return m_dir; }

  private:
    std::filesystem::path m_dir;
};

}  // namespace keyfence::mail::smime
