#include "token/pkcs11/mechanisms.hpp"

#include <gtest/gtest.h>

#include "base/hex.hpp"

namespace keyfence::token::pkcs11 {
namespace {

TEST(DigestInfo, MatchesTheRfc8017Prefixes) {
    // RFC 8017 §9.2 note 1: the DER prefixes for SHA-256/384/512.
    const std::vector<std::uint8_t> d32(32, 0xab), d48(48, 0xab), d64(64, 0xab);
    EXPECT_EQ(base::to_hex(*digest_info(Hash::Sha256, d32)).substr(0, 38),
              "3031300d060960864801650304020105000420");
    EXPECT_EQ(base::to_hex(*digest_info(Hash::Sha384, d48)).substr(0, 38),
              "3041300d060960864801650304020205000430");
    EXPECT_EQ(base::to_hex(*digest_info(Hash::Sha512, d64)).substr(0, 38),
              "3051300d060960864801650304020305000440");
    EXPECT_EQ(digest_info(Hash::Sha256, d32)->size(), 19u + 32u);
}

TEST(EcdsaSignature, RawRAndSBecomeDer) {
    std::vector<std::uint8_t> raw(64, 0);
    raw[31] = 1;  // r = 1
    raw[63] = 2;  // s = 2
    auto der = ecdsa_raw_to_der(raw);
    ASSERT_TRUE(der);
    EXPECT_EQ(base::to_hex(*der), "3006020101020102");
    EXPECT_FALSE(ecdsa_raw_to_der(std::vector<std::uint8_t>(63, 1)));
    EXPECT_FALSE(ecdsa_raw_to_der({}));
}

TEST(Hashes, ParseAndDescribe) {
    EXPECT_EQ(*parse_hash("sha384"), Hash::Sha384);
    EXPECT_EQ(parse_hash("md5").error().code, base::ErrorCode::Usage);
    EXPECT_EQ(hash_size(Hash::Sha512), 64u);
    const CK_RSA_PKCS_PSS_PARAMS p = pss_params(Hash::Sha384);
    EXPECT_EQ(p.hashAlg, CKM_SHA384);
    EXPECT_EQ(p.mgf, CKG_MGF1_SHA384);
    EXPECT_EQ(p.sLen, 48u);
}

TEST(Hex, RoundTrips) {
    const std::vector<std::uint8_t> bytes = {0x00, 0x7f, 0xff};
    EXPECT_EQ(base::to_hex(bytes, ":"), "00:7f:ff");
    EXPECT_EQ(*base::from_hex("00:7F:ff"), bytes);
    EXPECT_FALSE(base::from_hex("0g"));
    EXPECT_FALSE(base::from_hex("abc"));
}

}  // namespace
}  // namespace keyfence::token::pkcs11
