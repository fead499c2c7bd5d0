// A token that returns a wrong signature (the faulty RSA-CRT case, which leaks an RSA key to
// whoever gets the signature, and a glitched ECDSA): Keyfence verifies every signature with the
// public key before releasing it, so nothing is written and the error says why. The token is
// SoftHSM behind tests/support/faulty_pkcs11.c, which flips one bit of every signature.

#include <gtest/gtest.h>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace fs = std::filesystem;

class CliFault : public ::testing::Test {
  protected:
    ProcessResult sign_through_faulty_module(const std::vector<std::string>& command,
                                             bool fault = true) {
        std::vector<std::string> args = {"--no-p11-kit", "--module", KEYFENCE_FAULTY_PKCS11,
                                         "--pin-fd", "3"};
        args.insert(args.end(), command.begin(), command.end());
        ProcessOptions options{.env = {{"FAULTY_PKCS11_TARGET", k_softhsm_module},
                                       {"XDG_DATA_HOME", (m_world.dir() / "xdg").string()}},
                               .fd3_data = "123456\n"};
        if (!fault) options.env["FAULTY_PKCS11_OFF"] = "1";
        return run_keyfence(m_world, args, options, /*hermetic=*/false);
    }
    fs::path path(const std::string& name) const { return m_world.dir() / name; }
    SoftHsmWorld m_world;
};

TEST_F(CliFault, AFaultySignatureIsWithheldForRsaAndEc) {
    write_file(path("data.txt"), "pay 100 to Alice\n");
    for (const std::string label : {"rsa2048", "ecp256"}) {
        const fs::path out = path(label + ".sig");
        write_file(out, "previous");
        auto r =
            sign_through_faulty_module({"sign", "--key", "pkcs11:token=test-token;object=" + label,
                                        "--in", path("data.txt").string(), "--out", out.string()});
        EXPECT_NE(r.exit_code, 0) << label;
        EXPECT_NE(r.err.find("verif"), std::string::npos) << label << ": " << r.err;
        EXPECT_EQ(read_file(out), "previous") << label << ": the bad signature was written";
    }
}

TEST_F(CliFault, AFaultySmimeSignatureIsWithheld) {
    write_file(path("m.eml"),
               "From: <rsa2048@example.org>\nTo: bob@example.org\nSubject: s\n\nhello\n");
    auto r = sign_through_faulty_module({"smime", "sign", "--key",
                                         "pkcs11:token=test-token;object=rsa2048", "--in",
                                         path("m.eml").string(), "--out", path("s.eml").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("does not verify"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("s.eml"))) << "a message with a bad signature was written";
}

TEST_F(CliFault, TheSameModuleSignsCorrectlyWithoutTheFault) {
    // The control: the shim itself is sound, so the failures above are the fault's.
    write_file(path("data.txt"), "pay 100 to Alice\n");
    auto r =
        run_keyfence(m_world,
                     {"--pin-fd", "3", "sign", "--key", "pkcs11:token=test-token;object=rsa2048",
                      "--in", path("data.txt").string(), "--out", path("ok.sig").string()},
                     {.fd3_data = "123456\n"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(path("ok.sig")));
}

}  // namespace
}  // namespace keyfence::test
