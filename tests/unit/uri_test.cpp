#include "token/pkcs11/uri.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

CK_TOKEN_INFO token(const char* label, const char* serial) {
    CK_TOKEN_INFO t{};
    std::memset(t.label, ' ', sizeof t.label);
    std::memset(t.manufacturerID, ' ', sizeof t.manufacturerID);
    std::memset(t.model, ' ', sizeof t.model);
    std::memset(t.serialNumber, ' ', sizeof t.serialNumber);
    std::memcpy(t.label, label, std::strlen(label));
    std::memcpy(t.serialNumber, serial, std::strlen(serial));
    std::memcpy(t.manufacturerID, "Yubico", 6);
    std::memcpy(t.model, "YubiKey 5", 9);
    return t;
}

TEST(Uri, RefusesPinsInUris) {
    for (const char* text : {"pkcs11:token=t;pin-value=123456", "pkcs11:token=t?pin-value=123456",
                             "pkcs11:token=t?pin-source=file:/etc/pin"}) {
        auto uri = Uri::parse(text);
        ASSERT_FALSE(uri) << text;
        EXPECT_EQ(uri.error().code, ErrorCode::Usage);
        EXPECT_EQ(uri.error().context.find("123456"), std::string::npos) << "PIN echoed back";
        EXPECT_NE(uri.error().context.find("never takes a PIN"), std::string::npos);
    }
}

TEST(Uri, RefusesUnknownAttributesAndGarbage) {
    EXPECT_EQ(Uri::parse("pkcs11:token=t;colour=blue").error().code, ErrorCode::Usage);
    EXPECT_EQ(Uri::parse("http://example.org").error().code, ErrorCode::Usage);
    EXPECT_EQ(Uri::parse("pkcs11:id=%zz").error().code, ErrorCode::Usage);
}

TEST(Uri, MatchesTokensAndObjects) {
    auto uri = Uri::parse("pkcs11:token=Work%20card;serial=0042;id=%01%02;type=private");
    ASSERT_TRUE(uri);
    EXPECT_TRUE(uri->matches_token(token("Work card", "0042")));
    EXPECT_FALSE(uri->matches_token(token("Work card", "0043")));
    EXPECT_FALSE(uri->matches_token(token("Home card", "0042")));
    const std::vector<std::uint8_t> id = {1, 2}, other = {1};
    EXPECT_TRUE(uri->matches_object(CKO_PRIVATE_KEY, id, "any label"));
    EXPECT_FALSE(uri->matches_object(CKO_PRIVATE_KEY, other, "any label"));
    EXPECT_FALSE(uri->matches_object(CKO_CERTIFICATE, id, "any label"));
}

TEST(Uri, FormatsCanonicalUrisThatParseBack) {
    const CK_TOKEN_INFO t = token("Work card", "0042");
    const std::vector<std::uint8_t> id = {0x01};
    const std::string text = format_object_uri(t, CKO_PRIVATE_KEY, id, "sign key");
    for (const char* part : {"token=Work%20card", "serial=0042", "manufacturer=Yubico",
                             "model=YubiKey%205", "id=%01", "object=sign%20key", "type=private"}) {
        EXPECT_NE(text.find(part), std::string::npos) << part << " in " << text;
    }
    auto back = Uri::parse(text);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->matches_token(t));
    EXPECT_TRUE(back->matches_object(CKO_PRIVATE_KEY, id, "sign key"));
    EXPECT_EQ(format_token_uri(t).find("object="), std::string::npos);
}

TEST(Uri, MatchesModulesByNameOrPath) {
    auto by_name = Uri::parse("pkcs11:token=t?module-name=softhsm2");
    ASSERT_TRUE(by_name);
    CK_INFO info{};
    EXPECT_TRUE(by_name->matches_module(info, "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"));
    EXPECT_FALSE(by_name->matches_module(info, "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"));
}

}  // namespace
}  // namespace keyfence::token::pkcs11
