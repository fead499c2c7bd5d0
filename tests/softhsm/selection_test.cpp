#include <gtest/gtest.h>

#include "tests/support/test_world.hpp"
#include "token/pkcs11/registry.hpp"

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

class Selection : public ::testing::Test {
  protected:
    base::Result<KeyMatch> select(const std::string& text) {
        auto uri = Uri::parse(text);
        if (!uri) return std::move(uri).error();
        return select_key(m_modules, *uri);
    }
    test::SoftHsmWorld m_world;
    ModuleSet m_modules = load_modules({test::k_softhsm_module}, false);
};

TEST_F(Selection, ByLabelIdOrCanonicalUri) {
    auto by_label = select("pkcs11:token=test-token;object=ecp384");
    ASSERT_TRUE(by_label) << by_label.error().message();
    EXPECT_EQ(by_label->key.curve, "P-384");
    auto by_id = select("pkcs11:token=test-token;id=%05");
    ASSERT_TRUE(by_id);
    EXPECT_EQ(by_id->key.label, "rsa3072");
    auto canonical = select(by_label->key.uri);
    ASSERT_TRUE(canonical);
    EXPECT_EQ(canonical->key.label, "ecp384");
    auto by_model = select("pkcs11:model=SoftHSM%20v2;token=mixed-token;object=mixed-rsa");
    ASSERT_TRUE(by_model);
    EXPECT_EQ(by_model->token.label, "mixed-token");
}

TEST_F(Selection, AmbiguousMatchesListTheCandidates) {
    // id=%01 is rsa2048 on test-token and mixed-rsa on mixed-token.
    auto both = select("pkcs11:id=%01");
    ASSERT_FALSE(both);
    EXPECT_EQ(both.error().code, ErrorCode::Ambiguous);
    EXPECT_NE(both.error().context.find("object=rsa2048"), std::string::npos);
    EXPECT_NE(both.error().context.find("object=mixed-rsa"), std::string::npos);
    EXPECT_NE(both.error().hint.find("object="), std::string::npos);
}

TEST_F(Selection, NoMatchListsTheKeysThereAre) {
    auto none = select("pkcs11:token=test-token;object=no-such-key");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, ErrorCode::KeyNotFound);
    EXPECT_NE(none.error().context.find("object=ecp256"), std::string::npos);
    auto cert = select("pkcs11:token=test-token;object=ecp256;type=cert");
    EXPECT_EQ(cert.error().code, ErrorCode::KeyNotFound);
}

TEST_F(Selection, NoTokenMeansTokenAbsent) {
    auto none = select("pkcs11:token=not-plugged-in");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, ErrorCode::TokenAbsent);
    EXPECT_FALSE(none.error().hint.empty());
}

TEST_F(Selection, PinValueIsRefusedBeforeAnyTokenIsTouched) {
    auto refused = select("pkcs11:token=test-token;object=rsa2048;pin-value=123456");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::Usage);
}

}  // namespace
}  // namespace keyfence::token::pkcs11
