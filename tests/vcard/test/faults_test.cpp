// Fault plan parsing and response mangling.
#include "faults.hpp"

#include <gtest/gtest.h>

namespace keyfence::vcard {
namespace {

TEST(Faults, SelectorParsesNumbersAndKinds) {
    auto n = FaultSelector::parse("3");
    ASSERT_TRUE(n);
    EXPECT_TRUE(n->matches(3, CommandKind::Other));
    EXPECT_FALSE(n->matches(4, CommandKind::Other));
    auto sign = FaultSelector::parse("sign");
    ASSERT_TRUE(sign);
    EXPECT_TRUE(sign->matches(9, CommandKind::Sign));
    EXPECT_FALSE(sign->matches(9, CommandKind::Decipher));
    auto op = FaultSelector::parse("private-op");
    EXPECT_TRUE(op->matches(1, CommandKind::Generate));
    EXPECT_FALSE(op->matches(1, CommandKind::ReadPublicKey));
    EXPECT_FALSE(FaultSelector::parse("x3"));
    EXPECT_FALSE(FaultSelector::parse("off")->active());
}

TEST(Faults, ControlTextOverlaysPlan) {
    FaultPlan plan;
    plan.latency_ms = 5;
    EXPECT_EQ(apply_fault_text("# comment\nlatency-ms 250\ncorrupt-signature 1\n"
                               "remove-on decipher\ngarble 7\n",
                               plan),
              "");
    EXPECT_EQ(plan.latency_ms, 250u);
    EXPECT_TRUE(plan.corrupt_signature);
    EXPECT_TRUE(plan.remove_on.matches(1, CommandKind::Decipher));
    EXPECT_TRUE(plan.garble.matches(7, CommandKind::Other));
    FaultPlan before = plan;
    EXPECT_NE(apply_fault_text("latency-ms soon\n", plan), "");
    EXPECT_EQ(plan.latency_ms, before.latency_ms);  // unchanged on error
    EXPECT_NE(apply_fault_text("explode 1\n", plan), "");
    EXPECT_EQ(apply_fault_text("remove-during-op 0\n", plan), "");
    EXPECT_FALSE(plan.remove_on.active());
}

TEST(Faults, GarbleAndTruncate) {
    Bytes r{0x01, 0x02, 0x03, 0x04, 0x90, 0x00};
    Bytes g = garble_response(r);
    EXPECT_EQ(g.size(), r.size());
    EXPECT_NE(g, r);
    EXPECT_EQ(truncate_response(r).size(), 3u);
    EXPECT_EQ(truncate_response(Bytes{0x90, 0x00}).size(), 1u);
    EXPECT_EQ(garble_response(Bytes{0x90, 0x00}), (Bytes{0x6F, 0x00}));
}

}  // namespace
}  // namespace keyfence::vcard
