#include "tests/gnupg/pgp_fixture.hpp"

#include <sstream>

namespace keyfence::test {

void PgpTest::SetUp() {
    std::filesystem::create_directory(peer());
    std::filesystem::permissions(peer(), std::filesystem::perms::owner_all);
    // Bob: a software key in the peer's home (Ed25519 + Cv25519: generated in milliseconds).
    ASSERT_EQ(peer_gpg({"--passphrase", "", "--quick-gen-key", "Bob <bob@example.org>",
                        "future-default", "default", "never"})
                  .exit_code,
              0);
    make_home({k_softhsm_module});
}

void PgpTest::setup_home(const std::vector<std::string>& modules) {
    std::vector<std::string> args = {"--no-p11-kit"};
    for (const auto& m : modules) args.insert(args.end(), {"--module", m});
    args.insert(args.end(), {"pgp", "setup", "--pkcs11", "--homedir", home()});
    auto setup = run_keyfence(m_world, args, {.env = m_extra_env}, false);
    ASSERT_EQ(setup.exit_code, 0) << setup.err;
}

void PgpTest::make_home(const std::vector<std::string>& modules) {
    setup_home(modules);
    auto bind = kf({"pgp", "bind", "--homedir", home(), "--key", k_key_uri, "--uid",
                    "Token Tester <rsa2048@example.org>"});
    ASSERT_EQ(bind.exit_code, 0) << bind.err;
    const auto at = bind.out.find("OpenPGP key ");
    ASSERT_NE(at, std::string::npos);
    m_fingerprint = bind.out.substr(at + 12, 40);
    // The peers exchange public keys.
    auto mine = home_gpg({"--armor", "--export", k_me});
    write_file(path("me.asc"), mine.out);
    ASSERT_EQ(peer_gpg({"--import", path("me.asc").string()}).exit_code, 0);
    write_file(path("bob.asc"), peer_gpg({"--armor", "--export", k_bob}).out);
    ASSERT_EQ(kf({"pgp", "import", "--homedir", home(), path("bob.asc").string()}).exit_code, 0);
}

void PgpTest::TearDown() {
    for (const auto& h : {home(), peer()}) {
        run({"timeout", "20", "gpgconf", "--homedir", h, "--kill", "all"}, {.env = m_world.env()});
    }
}

ProcessResult PgpTest::kf(std::vector<std::string> args, const std::string& pin) {
    args.insert(args.begin(), {"--pin-fd", "3"});
    return run_keyfence(m_world, args, {.env = m_extra_env, .fd3_data = pin + "\n"});
}

ProcessResult PgpTest::peer_gpg(std::vector<std::string> args, const std::string& stdin_data) {
    args.insert(args.begin(), {"gpg", "--homedir", peer(), "--batch", "--yes"});
    return run(args, {.env = m_world.env(), .stdin_data = stdin_data});
}

ProcessResult PgpTest::home_gpg(std::vector<std::string> args) {
    args.insert(args.begin(), {"gpg", "--homedir", home(), "--batch", "--yes"});
    return run(args, {.env = m_world.env()});
}

std::filesystem::path PgpTest::message(const std::string& name, const std::string& from,
                                       const std::string& body, const std::string& display) {
    write_file(path(name), "From: " + display + " <" + from +
                               ">\nTo: Bob <bob@example.org>\nSubject: test\n"
                               "Date: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
                               "Content-Type: text/plain; charset=utf-8\n\n" +
                               body);
    return path(name);
}

std::filesystem::path PgpTest::armor_block(const std::filesystem::path& from,
                                           const std::string& name, const std::string& kind) {
    const std::string text = read_file(from);
    const std::string begin = "-----BEGIN PGP " + kind + "-----";
    const std::string end = "-----END PGP " + kind + "-----";
    const auto b = text.find(begin);
    const auto e = text.find(end);
    EXPECT_NE(b, std::string::npos);
    EXPECT_NE(e, std::string::npos);
    write_file(path(name), text.substr(b, e + end.size() - b) + "\n");
    return path(name);
}

}  // namespace keyfence::test
