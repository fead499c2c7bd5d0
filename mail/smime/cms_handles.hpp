#pragma once
// Owned OpenSSL CMS and X.509 store handles for mail/smime (base/handles.hpp holds the ones
// every layer uses).

#include <openssl/cms.h>
#include <openssl/x509_vfy.h>

#include <vector>

#include "base/handles.hpp"

namespace keyfence::mail::smime {

using CmsPtr = base::CPtr<CMS_ContentInfo, &CMS_ContentInfo_free>;
using X509StorePtr = base::CPtr<X509_STORE, &X509_STORE_free>;
using X509StoreCtxPtr = base::CPtr<X509_STORE_CTX, &X509_STORE_CTX_free>;
using X509ReqPtr = base::CPtr<X509_REQ, &X509_REQ_free>;

inline void free_x509_stack(STACK_OF(X509) * stack) noexcept {
    sk_X509_pop_free(stack, X509_free);
}
/// A stack that owns its certificates.
using X509StackPtr = base::CPtr<STACK_OF(X509), &free_x509_stack>;

inline void free_x509_stack_shallow(STACK_OF(X509) * stack) noexcept {
    sk_X509_free(stack);
}
/// A stack that borrows its certificates (OpenSSL's get0/get1 conventions differ by call).
using X509StackView = base::CPtr<STACK_OF(X509), &free_x509_stack_shallow>;

/// A stack borrowing the certificates of `certs`; they must outlive it.
X509StackView borrow_stack(const std::vector<base::X509Ptr>& certs);

}  // namespace keyfence::mail::smime
