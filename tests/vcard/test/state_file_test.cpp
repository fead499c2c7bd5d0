// State file round trip, atomic replacement and rejection of damaged files.
#include "state_file.hpp"
#include "card_fixture.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace keyfence::vcard::test {
namespace {

namespace fs = std::filesystem;

class StateFileTest : public CardTest {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vcard-state-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        path = dir + "/card.state";
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string dir;
    std::string path;
};

TEST_F(StateFileTest, RoundTripKeepsKeysPinsAndObjects) {
    set_attributes(KeySlot::Signature,
                   AlgorithmAttributes::ecc(Curve::Ed25519, KeySlot::Signature));
    set_attributes(KeySlot::Decryption,
                   AlgorithmAttributes::ecc(Curve::X25519, KeySlot::Decryption));
    EvpPkeyPtr sig_pub = generate(KeySlot::Signature);
    EvpPkeyPtr dec_pub = generate(KeySlot::Decryption);
    EvpPkeyPtr aut_pub = generate(KeySlot::Authentication);  // RSA-2048
    ASSERT_EQ(send(0xDA, 0x00, 0x5B, bytes_of("Card<<Holder")).sw, 0x9000);
    ASSERT_EQ(send(0xDA, 0x00, 0xC7, Bytes(20, 0xAA)).sw, 0x9000);
    ASSERT_EQ(send(0x20, 0, 0x81, bytes_of("wrong!")).sw, 0x6982);
    verify_ok(0x81, "123456");
    ASSERT_EQ(send(0x2A, 0x9E, 0x9A, bytes_of("msg"), 256).sw, 0x9000);
    ASSERT_EQ(send(0x20, 0, 0x81, bytes_of("wrong!")).sw, 0x6982);

    ASSERT_EQ(save_state_file(path, card.state()), "");
    auto loaded = load_state_file(path);
    ASSERT_TRUE(loaded.state) << loaded.error;
    const CardState& s = *loaded.state;
    EXPECT_EQ(s.serial, 0x12345678u);
    EXPECT_EQ(s.pw1.tries, 2);
    EXPECT_EQ(s.signature_counter, 1u);
    EXPECT_EQ(s.name, bytes_of("Card<<Holder"));
    EXPECT_EQ(s.slots[0].fingerprint, Bytes(20, 0xAA));
    EXPECT_EQ(s.slots[0].attributes.raw, card.state().slots[0].attributes.raw);
    EXPECT_EQ(EVP_PKEY_eq(s.slots[0].key.get(), sig_pub.get()), 1);
    EXPECT_EQ(EVP_PKEY_eq(s.slots[1].key.get(), dec_pub.get()), 1);
    EXPECT_EQ(EVP_PKEY_eq(s.slots[2].key.get(), aut_pub.get()), 1);
    EXPECT_EQ(serialize_state(s), serialize_state(card.state()));
}

TEST_F(StateFileTest, CardListenerPersistsEveryChange) {
    int writes = 0;
    card.set_state_listener([&](const CardState& s) {
        ++writes;
        ASSERT_EQ(save_state_file(path, s), "");
    });
    ASSERT_EQ(send(0x20, 0, 0x83, bytes_of("badbadbad")).sw, 0x6982);
    EXPECT_EQ(writes, 1);
    auto loaded = load_state_file(path);
    ASSERT_TRUE(loaded.state);
    EXPECT_EQ(loaded.state->pw3.tries, 2);
    // A restarted card keeps the counter: the card survives a restart.
    Card restarted(std::move(*loaded.state));
    Bytes raw = *from_hex("00 20 00 83");
    auto rsp = restarted.process(raw);
    EXPECT_EQ(to_hex(rsp), "63c2");
}

TEST_F(StateFileTest, AtomicWriteReplacesAndLeavesNoTempFiles) {
    ASSERT_EQ(save_state_file(path, card.state()), "");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ino_t first_inode = st.st_ino;
    verify_ok(0x83, "12345678");
    ASSERT_EQ(send(0xDA, 0x00, 0x5B, bytes_of("Second")).sw, 0x9000);
    ASSERT_EQ(save_state_file(path, card.state()), "");
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_NE(st.st_ino, first_inode);  // replaced by rename, not rewritten in place
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        (void)e;
        ++files;
    }
    EXPECT_EQ(files, 1);
    // A failing write leaves the old file intact.
    EXPECT_NE(save_state_file(dir + "/missing-dir/card.state", card.state()), "");
    EXPECT_TRUE(load_state_file(path).state);
}

TEST_F(StateFileTest, RejectsDamagedOrForeignFiles) {
    std::string good = serialize_state(card.state());
    EXPECT_TRUE(parse_state(good).state);
    std::string truncated = good.substr(0, good.size() - 5);
    EXPECT_FALSE(parse_state(truncated).state);
    std::string future = good;
    future.replace(future.find("keyfence-vcard-state 1"), 22, "keyfence-vcard-state 9");
    auto r = parse_state(future);
    EXPECT_FALSE(r.state);
    EXPECT_NE(r.error.find("version"), std::string::npos);
    EXPECT_FALSE(parse_state("hello\n").state);
    std::string bad_key = good;
    bad_key.insert(bad_key.find("end\n"), "frobnicate 1\n");
    EXPECT_FALSE(parse_state(bad_key).state);
    EXPECT_FALSE(load_state_file(dir + "/nope").state);
}

}  // namespace
}  // namespace keyfence::vcard::test
