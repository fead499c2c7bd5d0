#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/handles.hpp"
#include "base/process_hardening.hpp"
#include "engine/engine.hpp"
#include "tests/support/ecdh_peer.hpp"
#include "tests/support/fixed_pin_source.hpp"
#include "tests/support/test_world.hpp"
#include "token/pkcs11/key_lease.hpp"

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

base::EvpPkeyPtr cert_key(const std::string& pem_path) {
    base::BioPtr bio(BIO_new_file(pem_path.c_str(), "r"));
    base::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    return base::EvpPkeyPtr(X509_get_pubkey(cert.get()));
}

std::vector<std::uint8_t> sha(const EVP_MD* md, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
    return {out, out + len};
}

bool verifies(EVP_PKEY* key, const EVP_MD* md, bool pss, const std::vector<std::uint8_t>& digest,
              const std::vector<std::uint8_t>& sig) {
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
    EVP_PKEY_verify_init(ctx.get());
    EVP_PKEY_CTX_set_signature_md(ctx.get(), md);
    if (pss) {
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST);
    }
    return EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest.data(), digest.size()) == 1;
}

class Lease : public ::testing::Test {
  protected:
    void SetUp() override { (void)base::harden_process(); }

    base::Result<KeyLease> lease(const std::string& uri,
                                 const std::string& pin = test::k_user_pin) {
        auto parsed = Uri::parse(uri);
        if (!parsed) return std::move(parsed).error();
        auto match = select_key(m_modules, *parsed);
        if (!match) return std::move(match).error();
        PinRequest request;
        request.operation = "sign";
        m_pins = test::FixedPinSource(pin);
        return KeyLease::acquire(std::move(*match), m_pins, request, {});
    }

    test::SoftHsmWorld m_world;
    ModuleSet m_modules = load_modules({test::k_softhsm_module}, false);
    test::FixedPinSource m_pins{""};
};

TEST_F(Lease, SignsDigestsThatOpenSslVerifiesWithTheCertificate) {
    struct Case {
        const char* label;
        Hash hash;
        const EVP_MD* md;
        bool pss;
    };
    const Case cases[] = {
        {"rsa2048", Hash::Sha256, EVP_sha256(), false},
        {"rsa2048", Hash::Sha512, EVP_sha512(), true},
        {"rsa3072", Hash::Sha384, EVP_sha384(), false},
        {"ecp256", Hash::Sha256, EVP_sha256(), false},
        {"ecp384", Hash::Sha384, EVP_sha384(), false},
    };
    for (const Case& c : cases) {
        auto l = lease(std::string("pkcs11:token=test-token;object=") + c.label);
        ASSERT_TRUE(l) << c.label << ": " << l.error().message();
        EXPECT_TRUE(l->key().can_sign);
        const auto digest = sha(c.md, "what you see is what you sign");
        auto sig = l->sign_digest(c.hash, digest, c.pss ? SignPadding::Pss : SignPadding::Pkcs1v15);
        ASSERT_TRUE(sig) << c.label << ": " << sig.error().message();
        auto pub = cert_key(m_world.cert_pem(c.label));
        EXPECT_TRUE(verifies(pub.get(), c.md, c.pss, digest, *sig)) << c.label;
        EXPECT_EQ(l->operations(), 1);
        EXPECT_EQ(m_pins.requests.size(), 1u);
    }
}

// PIV slot 9c style: the key needs the PIN again, in a context-specific login after
// C_SignInit (PKCS#11 3.0 §5.6). First prove SoftHSM enforces it, then that the lease does it.
TEST_F(Lease, AlwaysAuthenticateKeysGetTheirContextSpecificLogin) {
    auto l = lease("pkcs11:token=test-token;object=ecp256-always");
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_TRUE(l->key().always_authenticate);
    const auto digest = sha(EVP_sha256(), "each use needs the PIN");

    auto raw = Session::open(m_modules.modules.front(), l->token().slot_id);
    ASSERT_TRUE(raw);
    CK_MECHANISM ecdsa{CKM_ECDSA, nullptr, 0};
    std::vector<std::uint8_t> data = digest, out(128);
    CK_ULONG len = out.size();
    CK_FUNCTION_LIST* f = raw->functions();
    ASSERT_EQ(f->C_SignInit(raw->handle(), &ecdsa, l->key().handle), CKR_OK);
    EXPECT_EQ(f->C_Sign(raw->handle(), data.data(), data.size(), out.data(), &len),
              CKR_USER_NOT_LOGGED_IN)
        << "SoftHSM signed without the context-specific login";

    for (int use = 0; use < 2; ++use) {
        auto sig = l->sign_digest(Hash::Sha256, digest, SignPadding::Pkcs1v15);
        ASSERT_TRUE(sig) << sig.error().message();
        EXPECT_TRUE(verifies(cert_key(m_world.cert_pem("ecp256-always")).get(), EVP_sha256(), false,
                             digest, *sig));
    }
    EXPECT_EQ(m_pins.requests.size(), 1u) << "the PIN is asked once per lease";
}

TEST_F(Lease, AWrongPinIsAskedOnceAndNeverResubmitted) {
    auto l = lease("pkcs11:token=test-token;object=rsa2048", "000000");
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().code, ErrorCode::PinIncorrect);
    EXPECT_EQ(l.error().raw_name, "CKR_PIN_INCORRECT");
    EXPECT_NE(l.error().context.find("one try was spent"), std::string::npos);
    EXPECT_EQ(m_pins.requests.size(), 1u);
    // The token now says a wrong PIN was entered (SoftHSM: CKF_USER_PIN_COUNT_LOW), and the next
    // prompt shows it.
    auto again = lease("pkcs11:token=test-token;object=rsa2048");
    ASSERT_TRUE(again);
    ASSERT_EQ(m_pins.requests.size(), 1u);
    EXPECT_TRUE(m_pins.requests[0].count_low);
}

TEST_F(Lease, TheLeaseLogsOutWhenItEnds) {
    std::shared_ptr<Module> module;
    CK_SLOT_ID slot = 0;
    {
        auto l = lease("pkcs11:token=test-token;object=ecp256");
        ASSERT_TRUE(l);
        module = m_modules.modules.front();
        slot = l->token().slot_id;
        auto probe = Session::open(module, slot);
        ASSERT_TRUE(probe);
        EXPECT_TRUE(*probe->user_logged_in());
    }
    auto probe = Session::open(module, slot);
    ASSERT_TRUE(probe);
    EXPECT_FALSE(*probe->user_logged_in());
}

TEST_F(Lease, DecryptsRsaPkcs1AndOaepOnTheToken) {
    auto pub = cert_key(m_world.cert_pem("rsa2048"));
    const std::string secret = "session key bytes";
    for (auto padding : {DecryptPadding::Pkcs1v15, DecryptPadding::OaepSha1}) {
        base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(pub.get(), nullptr));
        EVP_PKEY_encrypt_init(ctx.get());
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding == DecryptPadding::Pkcs1v15
                                                    ? RSA_PKCS1_PADDING
                                                    : RSA_PKCS1_OAEP_PADDING);
        std::vector<std::uint8_t> enc(256);
        size_t len = enc.size();
        ASSERT_EQ(
            EVP_PKEY_encrypt(ctx.get(), enc.data(), &len,
                             reinterpret_cast<const unsigned char*>(secret.data()), secret.size()),
            1);
        enc.resize(len);
        auto l = lease("pkcs11:token=test-token;object=rsa2048");
        ASSERT_TRUE(l);
        auto plain = l->decrypt(padding, enc);
        ASSERT_TRUE(plain) << plain.error().message();
        EXPECT_TRUE(plain->is_locked());
        EXPECT_EQ(std::string(plain->bytes().begin(), plain->bytes().end()), secret);
    }
}

TEST_F(Lease, BadCiphertextAndWrongPaddingGiveOneIdenticalError) {
    auto l = lease("pkcs11:token=test-token;object=rsa2048");
    ASSERT_TRUE(l);
    std::vector<std::uint8_t> garbage(256, 0x5a);
    auto bad_padding = l->decrypt(DecryptPadding::Pkcs1v15, garbage);
    auto bad_oaep = l->decrypt(DecryptPadding::OaepSha1, garbage);
    std::vector<std::uint8_t> short_input(10, 1);
    auto bad_length = l->decrypt(DecryptPadding::Pkcs1v15, short_input);
    ASSERT_FALSE(bad_padding);
    ASSERT_FALSE(bad_oaep);
    ASSERT_FALSE(bad_length);
    EXPECT_EQ(bad_padding.error().message(), "decryption failed");
    EXPECT_EQ(bad_oaep.error().message(), bad_padding.error().message());
    EXPECT_EQ(bad_length.error().message(), bad_padding.error().message());
    EXPECT_EQ(bad_oaep.error().code, bad_padding.error().code);
}

TEST_F(Lease, DerivesTheSameEcdhSecretAsOpenSsl) {
    auto token_pub = cert_key(m_world.cert_pem("ecp256"));
    const test::EcdhPeer peer = test::ecdh_peer(token_pub.get());

    auto l = lease("pkcs11:token=test-token;object=ecp256");
    ASSERT_TRUE(l);
    auto shared = l->derive_ecdh(peer.point);
    ASSERT_TRUE(shared) << shared.error().message();
    EXPECT_EQ(std::vector<std::uint8_t>(shared->bytes().begin(), shared->bytes().end()),
              peer.expected_secret);
}

TEST_F(Lease, HandsOpenSslAnEvpPkeyThatSignsOnTheToken) {
    auto l = lease("pkcs11:token=test-token;object=rsa2048");
    ASSERT_TRUE(l);
    auto pkey = l->evp_pkey();
    ASSERT_TRUE(pkey) << pkey.error().message();
    const auto digest = sha(EVP_sha256(), "through libp11");
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(*pkey, nullptr));
    ASSERT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
    EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256());
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    std::vector<std::uint8_t> sig(256);
    size_t len = sig.size();
    ASSERT_EQ(EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()), 1);
    sig.resize(len);
    EXPECT_TRUE(
        verifies(cert_key(m_world.cert_pem("rsa2048")).get(), EVP_sha256(), false, digest, sig));
}

TEST_F(Lease, TheRsaKeyNextToAnEdDsaKeyStillSigns) {
    auto l = lease("pkcs11:token=mixed-token;object=mixed-rsa");
    ASSERT_TRUE(l) << l.error().message();
    const auto digest = sha(EVP_sha256(), "mixed token");
    auto sig = l->sign_digest(Hash::Sha256, digest, SignPadding::Pkcs1v15);
    ASSERT_TRUE(sig) << sig.error().message();
    EXPECT_TRUE(
        verifies(cert_key(m_world.cert_pem("mixed-rsa")).get(), EVP_sha256(), false, digest, *sig));
    // libp11 cannot hand out this key (the quirk); the error says why instead of crashing.
    auto pkey = l->evp_pkey();
    ASSERT_FALSE(pkey);
    EXPECT_EQ(pkey.error().code, ErrorCode::Unsupported);
}

TEST_F(Lease, UnsupportedKeysAreRefusedBeforeAnyPin) {
    auto l = lease("pkcs11:token=mixed-token;object=ed25519");
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().code, ErrorCode::Unsupported);
    EXPECT_TRUE(m_pins.requests.empty());
}

TEST(EnginePolicy, TheDemoTokenIsRefusedOutsideDemoMode) {
    test::SoftHsmWorld world;
    auto init = test::run({"softhsm2-util", "--init-token", "--free", "--label", "keyfence-demo",
                           "--so-pin", "12345678", "--pin", "123456"},
                          {.env = world.env()});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto gen = test::run({"pkcs11-tool", "--module", test::k_softhsm_module, "--token-label",
                          "keyfence-demo", "--login", "--pin", "123456", "--keypairgen",
                          "--key-type", "EC:prime256v1", "--id", "01", "--label", "demo-p256"},
                         {.env = world.env()});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    const engine::OperationRequest request{
        engine::Operation::Sign, "pkcs11:token=keyfence-demo;object=demo-p256", {}};
    for (bool demo : {false, true}) {
        auto pins = std::make_unique<test::FixedPinSource>(test::k_user_pin);
        auto* pins_seen = pins.get();
        engine::Engine engine({.modules = {test::k_softhsm_module},
                               .use_registered_modules = false,
                               .demo_mode = demo,
                               .lockout = {}},
                              std::move(pins));
        auto lease = engine.authorize(request);
        if (demo) {
            EXPECT_TRUE(lease) << lease.error().message();
            EXPECT_TRUE(lease->token().demo);
        } else {
            ASSERT_FALSE(lease);
            EXPECT_EQ(lease.error().code, ErrorCode::PolicyDenied);
            EXPECT_NE(lease.error().context.find("demo_token"), std::string::npos);
            EXPECT_TRUE(pins_seen->requests.empty()) << "refused only after asking for a PIN";
        }
    }
}

}  // namespace
}  // namespace keyfence::token::pkcs11
