#include "mail/smime/cert_store.hpp"

#include <cstdlib>

#include "base/atomic_output.hpp"
#include "mail/smime/certificate.hpp"

namespace keyfence::mail::smime {
namespace fs = std::filesystem;
using base::ErrorCode;

base::Result<CertStore> CertStore::user_store() {
    const char* data = std::getenv("XDG_DATA_HOME");
    if (data != nullptr && *data != '\0') return CertStore(fs::path(data) / "keyfence" / "certs");
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
        return base::Error(ErrorCode::Io, "neither XDG_DATA_HOME nor HOME is set",
                           "set HOME, or XDG_DATA_HOME, to say where certificates are kept");
    }
    return CertStore(fs::path(home) / ".local" / "share" / "keyfence" / "certs");
}

base::Result<std::string> CertStore::add(X509* cert) const {
    const CertificateFacts facts = describe(cert);
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    if (ec) return base::Error(ErrorCode::Io, "could not create " + m_dir.string());
    const fs::path file = m_dir / (facts.sha256 + ".pem");
    if (fs::exists(file, ec)) return facts.sha256;
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(file.string()));
    KEYFENCE_TRY(out.write(to_pem(cert)));
    KEYFENCE_TRY(out.commit());
    return facts.sha256;
}

base::Result<std::vector<base::X509Ptr>> CertStore::all() const {
    std::vector<base::X509Ptr> certs;
    std::error_code ec;
    if (!fs::exists(m_dir, ec)) return certs;
    for (const auto& entry : fs::directory_iterator(m_dir, ec)) {
        if (entry.path().extension() != ".pem") continue;
        auto loaded = load_certificates(entry.path().string());
        if (!loaded) continue;
        for (auto& c : *loaded) certs.push_back(std::move(c));
    }
    if (ec) return base::Error(ErrorCode::Io, "could not read " + m_dir.string());
    return certs;
}

base::Result<base::X509Ptr> CertStore::find_by_email(const std::string& address) const {
    KEYFENCE_TRY_ASSIGN(certs, all());
    base::X509Ptr best;
    for (auto& c : certs) {
        if (!has_email(describe(c.get()).emails, address)) continue;
        if (X509_cmp_current_time(X509_get0_notBefore(c.get())) > 0 ||
            X509_cmp_current_time(X509_get0_notAfter(c.get())) < 0) {
            continue;  // not valid now
        }
        if (!best ||
            ASN1_TIME_compare(X509_get0_notAfter(c.get()), X509_get0_notAfter(best.get())) > 0) {
            best = std::move(c);
        }
    }
    if (!best) {
        return base::Error(ErrorCode::KeyNotFound,
                           "no valid certificate for " + address + " in " + m_dir.string(),
                           "add the recipient's certificate with 'keyfence certs add FILE', or "
                           "verify a signed message from them");
    }
    return best;
}

}  // namespace keyfence::mail::smime
