// Owned handles free what they own: each alias releases through its library's own function.

#include <gtest/gtest.h>

#include "base/handles.hpp"
#include "mail/gpgme_handles.hpp"
#include "token/pkcs11/module.hpp"

namespace keyfence {
namespace {

static_assert(sizeof(base::EvpPkeyPtr) == sizeof(void*), "stateless deleters add no size");
static_assert(sizeof(token::pkcs11::Pkcs11CtxPtr) == sizeof(void*));
static_assert(sizeof(mail::GpgmeCtxPtr) == sizeof(void*));

TEST(Handles, OpenSslObjectsAreFreedByTheirOwners) {
    base::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    ASSERT_TRUE(key);
    base::EvpPkeyPtr shared(key.get());
    EVP_PKEY_up_ref(key.get());  // two owners, two references: ASan would see a double free
    EXPECT_EQ(EVP_PKEY_get_bits(shared.get()), 256);
}

TEST(Handles, GpgmeObjectsAreReleased) {
    gpgme_check_version(nullptr);
    gpgme_data_t raw = nullptr;
    ASSERT_EQ(gpgme_data_new_from_mem(&raw, "abc", 3, 1), 0);
    mail::GpgmeDataPtr data(raw);
    char buf[4] = {};
    gpgme_data_seek(data.get(), 0, SEEK_SET);
    EXPECT_EQ(gpgme_data_read(data.get(), buf, 3), 3);
    EXPECT_STREQ(buf, "abc");
}

TEST(Handles, Libp11ContextsAreFreed) {
    token::pkcs11::Pkcs11CtxPtr ctx(PKCS11_CTX_new());
    EXPECT_TRUE(ctx);
}

}  // namespace
}  // namespace keyfence
