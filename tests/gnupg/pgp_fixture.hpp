#pragma once
// A PGP/MIME world: a private SoftHSM store, Keyfence's GnuPG home in it with gnupg-pkcs11-scd
// and the RSA key bound to an OpenPGP certificate, and a peer's GnuPG home (Bob, a software
// key) whose gpg is the judge. Every gpg-agent and smartcard daemon started in either home is
// stopped by gpgconf --kill all at the end.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/test_world.hpp"

namespace keyfence::test {

class PgpTest : public ::testing::Test {
  protected:
    static constexpr const char* k_key_uri = "pkcs11:token=test-token;object=rsa2048";
    static constexpr const char* k_me = "rsa2048@example.org";
    static constexpr const char* k_bob = "bob@example.org";

    void SetUp() override;
    void TearDown() override;

    std::filesystem::path path(const std::string& name) const { return m_world.dir() / name; }
    std::string home() const { return path("gnupg").string(); }
    std::string peer() const { return path("peer").string(); }

    /// keyfence ARGS on Keyfence's home with `pin` on fd 3 (hermetic: SoftHSM only).
    ProcessResult kf(std::vector<std::string> args, const std::string& pin = "123456");
    /// gpg in the peer's home.
    ProcessResult peer_gpg(std::vector<std::string> args, const std::string& stdin_data = "");
    /// gpg in Keyfence's home (to look, never to use the token).
    ProcessResult home_gpg(std::vector<std::string> args);

    /// A message from `display` <`from`> to Bob, written to `name`.
    std::filesystem::path message(const std::string& name, const std::string& from = k_me,
                                  const std::string& body = "Meet at noon.\n",
                                  const std::string& display = "Sender");
    /// The display name of the bound key's user ID: a From: with it verifies.
    static constexpr const char* k_my_name = "Token Tester";
    /// The OpenPGP block (BEGIN ... END) of a file, written to `name`.
    std::filesystem::path armor_block(const std::filesystem::path& from, const std::string& name,
                                      const std::string& kind);

    /// Sets up Keyfence's home (setup --pkcs11 with `modules`) and binds the RSA key.
    void make_home(const std::vector<std::string>& modules);
    /// Rewrites Keyfence's home for `modules` (pgp setup --pkcs11), keeping its keys.
    void setup_home(const std::vector<std::string>& modules);
    std::string m_fingerprint;  ///< of the bound key
    /// Added to the environment of every keyfence run (and so of gpg-agent and its daemon).
    std::map<std::string, std::string> m_extra_env;

    SoftHsmWorld m_world;
};

}  // namespace keyfence::test
