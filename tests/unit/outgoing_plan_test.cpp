// engine/policy/outgoing: the table of docs/mail.md, case by case.
#include "engine/policy/outgoing.hpp"

#include <gtest/gtest.h>

namespace keyfence::engine::policy {
namespace {

Policy::Mail mail(MailSign sign, MailEncrypt encrypt) {
    return {.sign = sign, .encrypt = encrypt};
}

ProtocolReach smime(bool can_sign, std::vector<std::string> missing = {}) {
    return {MailProtocol::Smime, can_sign, std::move(missing)};
}
ProtocolReach openpgp(bool can_sign, std::vector<std::string> missing = {}) {
    return {MailProtocol::OpenPgp, can_sign, std::move(missing)};
}

TEST(OutgoingPlan, DefaultSignsAndEncryptsWithTheFirstProtocolThatReachesEveryone) {
    auto d = decide_outgoing(mail(MailSign::Always, MailEncrypt::WhenPossible),
                             {openpgp(true, {"carol@example.org"}), smime(true)});
    ASSERT_TRUE(d.plan);
    EXPECT_EQ(d.plan->protocol, MailProtocol::Smime);
    EXPECT_TRUE(d.plan->sign);
    EXPECT_TRUE(d.plan->encrypt);
}

TEST(OutgoingPlan, WhenPossibleFallsBackToSignedOnly) {
    auto d =
        decide_outgoing(mail(MailSign::Always, MailEncrypt::WhenPossible),
                        {openpgp(false, {"bob@example.org"}), smime(true, {"bob@example.org"})});
    ASSERT_TRUE(d.plan);
    EXPECT_EQ(d.plan->protocol, MailProtocol::Smime);
    EXPECT_TRUE(d.plan->sign);
    EXPECT_FALSE(d.plan->encrypt);
}

TEST(OutgoingPlan, EncryptAlwaysRefusesNamingTheMissingRecipients) {
    auto d = decide_outgoing(mail(MailSign::Always, MailEncrypt::Always),
                             {smime(true, {"bob@example.org"})});
    ASSERT_TRUE(d.refusal);
    EXPECT_EQ(d.refusal->rule, "mail.encrypt");
    EXPECT_NE(d.refusal->message.find("bob@example.org"), std::string::npos);
}

TEST(OutgoingPlan, SignAlwaysNeedsASigningKeyInTheEncryptingProtocol) {
    // OpenPGP reaches Bob but the sender has only an S/MIME key: encrypting with OpenPGP would
    // leave the message unsigned, so with encryption required this is refused...
    auto refused = decide_outgoing(mail(MailSign::Always, MailEncrypt::Always),
                                   {openpgp(false), smime(true, {"bob@example.org"})});
    ASSERT_TRUE(refused.refusal);
    EXPECT_EQ(refused.refusal->rule, "mail.sign");
    // ...and with encryption only when possible, it is signed with S/MIME.
    auto signed_only = decide_outgoing(mail(MailSign::Always, MailEncrypt::WhenPossible),
                                       {openpgp(false), smime(true, {"bob@example.org"})});
    ASSERT_TRUE(signed_only.plan);
    EXPECT_EQ(signed_only.plan->protocol, MailProtocol::Smime);
    EXPECT_FALSE(signed_only.plan->encrypt);
}

TEST(OutgoingPlan, NoSigningKeyAnywhereIsRefused) {
    auto d =
        decide_outgoing(mail(MailSign::Always, MailEncrypt::WhenPossible),
                        {openpgp(false, {"bob@example.org"}), smime(false, {"bob@example.org"})});
    ASSERT_TRUE(d.refusal);
    EXPECT_EQ(d.refusal->rule, "mail.sign");
}

TEST(OutgoingPlan, EncryptOnlyWhenSigningIsOff) {
    auto d = decide_outgoing(mail(MailSign::Never, MailEncrypt::WhenPossible), {openpgp(false)});
    ASSERT_TRUE(d.plan);
    EXPECT_EQ(d.plan->protocol, MailProtocol::OpenPgp);
    EXPECT_FALSE(d.plan->sign);
    EXPECT_TRUE(d.plan->encrypt);
}

TEST(OutgoingPlan, NeverPassesOnUnprotectedMail) {
    auto unreachable = decide_outgoing(mail(MailSign::Never, MailEncrypt::WhenPossible),
                                       {smime(true, {"bob@example.org"})});
    ASSERT_TRUE(unreachable.refusal);
    EXPECT_EQ(unreachable.refusal->rule, "mail.unprotected");
    auto both_off = decide_outgoing(mail(MailSign::Never, MailEncrypt::Never), {smime(true)});
    ASSERT_TRUE(both_off.refusal);
    EXPECT_EQ(both_off.refusal->rule, "mail.unprotected");
}

TEST(OutgoingPlan, EncryptNeverSignsOnly) {
    auto d = decide_outgoing(mail(MailSign::Always, MailEncrypt::Never), {smime(true)});
    ASSERT_TRUE(d.plan);
    EXPECT_TRUE(d.plan->sign);
    EXPECT_FALSE(d.plan->encrypt);
}

}  // namespace
}  // namespace keyfence::engine::policy
