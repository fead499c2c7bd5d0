#pragma once
// PKCS#10 certificate requests (RFC 2986) for S/MIME keys on a token, in two phases: build the
// request around the key's public key (no PIN), then sign it once with the token's key.

#include <string>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/smime/cms_handles.hpp"

namespace keyfence::mail::smime {

struct CsrRequest {
    std::string email;    ///< goes into subjectAltName rfc822Name (RFC 8550 §3)
    std::string subject;  ///< "/CN=Alice/O=Example"; empty: "/CN=<email>"
    std::string hash = "sha256";
};

/// Builds an unsigned request for `public_key` with the extensions an S/MIME certificate needs:
/// subjectAltName email, keyUsage (digitalSignature and keyEncipherment for RSA,
/// digitalSignature and keyAgreement for EC), extendedKeyUsage emailProtection.
/// Errors: Usage (a malformed subject, no email).
base::Result<X509ReqPtr> build_csr(EVP_PKEY* public_key, const CsrRequest& request);

/// Signs `req` with `key` (one private-key operation), checks the signature with the request's
/// own public key, and returns the PEM. Errors: ModuleFailure, Internal.
base::Result<std::string> sign_csr(X509_REQ* req, EVP_PKEY* key, const std::string& hash);

}  // namespace keyfence::mail::smime
