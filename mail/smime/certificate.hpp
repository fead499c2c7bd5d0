#pragma once
// Reading and describing X.509 certificates: the facts a user and a verifier need.

#include <string>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"

namespace keyfence::mail::smime {

struct CertificateFacts {
    std::string subject;  ///< RFC 2253 one-line form
    std::string issuer;
    std::string serial;      ///< hex
    std::string not_before;  ///< ISO 8601 UTC
    std::string not_after;
    std::vector<std::string> emails;  ///< subjectAltName rfc822Name and subject emailAddress,
                                      ///< lower case, without duplicates
    std::string sha256;               ///< fingerprint of the DER, hex
};

/// Facts of `cert`. Never fails; unreadable fields stay empty.
CertificateFacts describe(X509* cert);

/// Every certificate in a PEM file (one or more) or a DER file. Errors: Io, BadInput.
base::Result<std::vector<base::X509Ptr>> load_certificates(const std::string& path);

/// One certificate from DER bytes. Errors: BadInput.
base::Result<base::X509Ptr> certificate_from_der(const std::vector<std::uint8_t>& der);

/// The PEM form of `cert`.
std::string to_pem(X509* cert);

/// True when `emails` (lower case) contains `address` compared case-insensitively.
bool has_email(const std::vector<std::string>& emails, const std::string& address);

}  // namespace keyfence::mail::smime
