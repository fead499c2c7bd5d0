#pragma once
// Owned C handles: std::unique_ptr with stateless deleters. Each layer declares aliases for the
// libraries it may include (token/ for libp11, mail/ for GPGME); OpenSSL's live here because
// every layer uses OpenSSL.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace keyfence::base {

/// Deleter calling a C free function; stateless, so the unique_ptr stays one pointer wide.
template <auto Fn>
struct CFree {
    template <class T>
    void operator()(T* p) const noexcept {
        Fn(p);
    }
};

template <class T, auto Fn>
using CPtr = std::unique_ptr<T, CFree<Fn>>;

using EvpPkeyPtr = CPtr<EVP_PKEY, &EVP_PKEY_free>;
using EvpPkeyCtxPtr = CPtr<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = CPtr<EVP_MD_CTX, &EVP_MD_CTX_free>;
using X509Ptr = CPtr<X509, &X509_free>;
using X509SigPtr = CPtr<X509_SIG, &X509_SIG_free>;
using BioPtr = CPtr<BIO, &BIO_free_all>;
using BignumPtr = CPtr<BIGNUM, &BN_free>;
using EcdsaSigPtr = CPtr<ECDSA_SIG, &ECDSA_SIG_free>;
using Asn1ObjectPtr = CPtr<ASN1_OBJECT, &ASN1_OBJECT_free>;

inline void openssl_free_char(char* p) noexcept {
    OPENSSL_free(p);
}
using OpensslStringPtr = CPtr<char, &openssl_free_char>;

}  // namespace keyfence::base
