#pragma once
// A SoftHSM world for the S/MIME tests: running keyfence with the PIN on fd 3 and a private
// certificate store, running openssl as the judge, and software keys that exist only here.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_world.hpp"

namespace keyfence::test {

class SmimeTest : public ::testing::Test {
  protected:
    std::filesystem::path path(const std::string& name) const { return m_world.dir() / name; }
    static std::string key(const std::string& label) {
        return "pkcs11:token=test-token;object=" + label;
    }
    std::map<std::string, std::string> env() const {
        return {{"XDG_DATA_HOME", (m_world.dir() / "xdg").string()}};
    }
    /// keyfence ARGS with the PIN on fd 3 and the private certificate store.
    ProcessResult kf(std::vector<std::string> args, const std::string& stdin_data = "") {
        args.insert(args.begin(), {"--pin-fd", "3"});
        return run_keyfence(m_world, args,
                            {.env = env(), .stdin_data = stdin_data, .fd3_data = "123456\n"});
    }
    /// A message from `label`@example.org written to `name`.
    std::filesystem::path message(const std::string& name, const std::string& label,
                                  const std::string& body = "Meet at noon.\n") {
        write_file(path(name), "From: Test " + label + " <" + label +
                                   "@example.org>\nTo: bob@example.org\nSubject: test\n"
                                   "Date: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
                                   "Content-Type: text/plain; charset=utf-8\n\n" +
                                   body);
        return path(name);
    }
    ProcessResult openssl_verify(const std::filesystem::path& signed_message) {
        return run({"openssl", "cms", "-verify", "-CAfile", m_world.ca_pem(), "-in",
                    signed_message.string(), "-out", "/dev/null"});
    }
    /// A software key and self-signed certificate ("rsa" or "ec") for openssl to decrypt with;
    /// it exists only in this test's directory.
    void software_recipient(const std::string& name, const std::string& type) {
        std::vector<std::string> argv = {"openssl", "req",
                                         "-x509",   "-nodes",
                                         "-days",   "2",
                                         "-subj",   "/CN=" + name,
                                         "-keyout", path(name + ".key").string(),
                                         "-out",    path(name + ".pem").string()};
        if (type == "rsa") {
            argv.insert(argv.end(), {"-newkey", "rsa:2048"});
        } else {
            argv.insert(argv.end(), {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"});
        }
        ASSERT_EQ(run(argv).exit_code, 0);
    }

    /// A private GNUPGHOME for gpgsm that trusts the test CA; its gpg-agent is stopped when the
    /// returned guard goes out of scope.
    struct GpgsmHome {
        ProcessOptions options;
        ~GpgsmHome() { run({"timeout", "20", "gpgconf", "--kill", "gpg-agent"}, options); }
    };
    std::unique_ptr<GpgsmHome> gpgsm_home() {
        const auto home = path("gnupg");
        std::filesystem::create_directory(home);
        std::filesystem::permissions(home, std::filesystem::perms::owner_all);
        auto g = std::make_unique<GpgsmHome>();
        g->options.env = {{"GNUPGHOME", home.string()}};
        EXPECT_EQ(run({"gpgsm", "--batch", "--import", m_world.ca_pem()}, g->options).exit_code, 0);
        auto fp =
            run({"openssl", "x509", "-in", m_world.ca_pem(), "-noout", "-fingerprint", "-sha1"});
        write_file(home / "trustlist.txt", fp.out.substr(fp.out.find('=') + 1, 59) + " S relax\n");
        return g;
    }

    SoftHsmWorld m_world;
};

}  // namespace keyfence::test
