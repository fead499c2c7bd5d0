// libFuzzer: the S/MIME entry points that read outside data — a message to parse (GMime), to
// verify (CMS signed-data, the From: binding, partial signing) and to prepare for decryption
// (EnvelopedData / AuthEnvelopedData, recipient matching) — fed arbitrary bytes. Any crash, leak
// or UB is a bug; errors are the expected outcome. Seeds: tests/data/smime and real messages.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/handles.hpp"
#include "mail/mime/message.hpp"
#include "mail/smime/decrypt.hpp"
#include "mail/smime/sign.hpp"
#include "mail/smime/verify.hpp"

namespace {
// A recipient certificate for prepare_decryption: a throwaway self-signed RSA certificate.
X509* recipient() {
    static X509* cert = [] {
        EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
        X509* c = X509_new();
        X509_set_version(c, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
        X509_gmtime_adj(X509_getm_notBefore(c), 0);
        X509_gmtime_adj(X509_getm_notAfter(c), 3600);
        X509_set_pubkey(c, key);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("fuzz"), -1, -1, 0);
        X509_set_issuer_name(c, X509_get_subject_name(c));
        X509_sign(c, key, EVP_sha256());
        EVP_PKEY_free(key);
        return c;
    }();
    return cert;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view message(reinterpret_cast<const char*>(data), size);
    if (auto parsed = keyfence::mail::mime::Message::parse(message)) (void)parsed->headers();
    (void)keyfence::mail::smime::verify_message(message, {});
    (void)keyfence::mail::smime::prepare_decryption(message, recipient());
    (void)keyfence::mail::smime::prepare_signature(message, {});
    return 0;
}
