// S/MIME through the agent (issue 6): keyfence does the CMS work and keyfenced the one
// private-key operation — signatures (RSA PKCS#1 v1.5, RSA-PSS, P-256; multipart/signed and
// opaque) and decryptions (RSA PKCS#1 v1.5 and OAEP key transport, ECDH key agreement) — with
// openssl as the judge, the agent's PIN session and audit log, the same exit codes with
// --no-agent, the fallback to in-process work, the padding-oracle property, and mail
// protect/open.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/agent/agent_world.hpp"
#include "tests/support/oracle_messages.hpp"

namespace {
using namespace keyfence::test;
namespace fs = std::filesystem;

class AgentSmime : public ::testing::Test {
  protected:
    fs::path path(const std::string& name) { return m_world.softhsm().dir() / name; }
    static std::string key(const std::string& label) {
        return "pkcs11:token=test-token;object=" + label;
    }
    std::map<std::string, std::string> env() {
        auto e = m_world.env();
        e["XDG_DATA_HOME"] = path("xdg").string();
        return e;
    }
    /// keyfence -v ARGS with `pin` (once) on fd 3.
    ProcessResult kf(std::vector<std::string> args, const std::string& pin = k_user_pin) {
        args.insert(args.begin(), {"--pin-fd", "3", "-v"});
        return run_keyfence(m_world.softhsm(), args, {.env = env(), .fd3_data = pin + "\n"});
    }
    fs::path message(const std::string& name, const std::string& label,
                     const std::string& body = "Meet at noon.\n") {
        write_file(path(name), "From: Test " + label + " <" + label +
                                   "@example.org>\nTo: bob@example.org\nSubject: agent\n"
                                   "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
                                   "Message-ID: <agent-" +
                                   label +
                                   "@example.org>\nMIME-Version: 1.0\n"
                                   "Content-Type: text/plain; charset=utf-8\n\n" +
                                   body);
        return path(name);
    }
    bool openssl_verifies(const fs::path& signed_message) {
        auto r = run({"openssl", "cms", "-verify", "-CAfile", m_world.softhsm().ca_pem(), "-in",
                      signed_message.string(), "-out", "/dev/null"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.exit_code == 0;
    }
    // A message openssl encrypted to `label`'s certificate (AES-256-GCM).
    fs::path encrypted_to(const std::string& label, std::vector<std::string> extra = {}) {
        write_file(path("plain.eml"),
                   "From: bob@example.org\r\nTo: " + label +
                       "@example.org\r\nSubject: sealed\r\nContent-Type: text/plain\r\n\r\n"
                       "the secret plans\r\n");
        std::vector<std::string> args = {"openssl",  "cms",
                                         "-encrypt", "-aes-256-gcm",
                                         "-in",      path("plain.eml").string(),
                                         "-out",     path(label + ".p7m.eml").string(),
                                         "-recip",   m_world.softhsm().cert_pem(label)};
        args.insert(args.end(), extra.begin(), extra.end());
        auto r = run(args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return path(label + ".p7m.eml");
    }
    static bool used_agent(const ProcessResult& r) {
        return r.err.find("using the agent") != std::string::npos;
    }

    AgentWorld m_world;
};

TEST_F(AgentSmime, SignaturesThroughTheAgentVerifyWithOpensslAndAreAudited) {
    m_world.start();
    struct Case {
        std::string label;
        std::vector<std::string> extra;
    };
    const std::vector<Case> cases = {{"rsa2048", {}},
                                     {"rsa2048", {"--pss"}},
                                     {"ecp256", {}},
                                     {"rsa2048", {"--opaque"}},
                                     {"rsa2048", {"--opaque", "--pss"}},
                                     {"ecp256", {"--opaque"}},
                                     // CKA_ALWAYS_AUTHENTICATE: the agent's lease logs in
                                     // for the operation with the PIN it was given.
                                     {"rsa2048-always", {"--pss"}},
                                     {"ecp256-always", {}}};
    for (const auto& c : cases) {
        const auto in = message("m.eml", c.label);
        std::vector<std::string> args = {"smime", "sign",      "--key", key(c.label),
                                         "--in",  in.string(), "--out", path("s.eml").string()};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        const auto r = kf(args);
        SCOPED_TRACE(c.label + (c.extra.empty() ? "" : " " + c.extra.front()));
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_TRUE(used_agent(r)) << r.err;
        EXPECT_TRUE(openssl_verifies(path("s.eml")));
        if (std::find(c.extra.begin(), c.extra.end(), "--pss") != c.extra.end()) {
            auto printed = run({"openssl", "cms", "-cmsout", "-print", "-in",
                                path("s.eml").string(), "-inform", "SMIME"});
            EXPECT_NE(printed.out.find("rsassaPss"), std::string::npos) << printed.out;
        }
        fs::remove(path("s.eml"));
    }
    // The agent wrote the records: S/MIME, for the keyfence process, with the message's
    // Message-ID.
    const std::string log = read_file(m_world.softhsm().audit_log());
    std::size_t records = 0;
    for (std::size_t at = 0; (at = log.find("\"protocol\":\"s/mime\"", at)) != std::string::npos;
         ++at)
        ++records;
    EXPECT_EQ(records, cases.size()) << log;
    EXPECT_NE(log.find("agent-ecp256@example.org"), std::string::npos) << log;
    EXPECT_NE(log.find("\"executable\":\"" + std::string(KEYFENCE_BINARY) + "\""),
              std::string::npos);
    EXPECT_EQ(log.find("keyfenced"), std::string::npos) << log;
}

TEST_F(AgentSmime, InASessionTheSecondSignatureAsksNoPin) {
    m_world.set_policy("[pin]\nmode = \"session\"\n");
    m_world.start();
    const auto in = message("m.eml", "rsa2048");
    const std::vector<std::string> args = {"smime", "sign",      "--key", key("rsa2048"),
                                           "--in",  in.string(), "--out", path("s.eml").string()};
    const auto first = kf(args);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    fs::remove(path("s.eml"));
    // No PIN on fd 3 this time: a prompt would fail. The agent's session signs.
    const auto second = kf(args, "");
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_TRUE(openssl_verifies(path("s.eml")));
    // Without the agent there is no session to share: the same command needs the PIN.
    fs::remove(path("s.eml"));
    auto local_args = args;
    local_args.push_back("--no-agent");
    const auto local = kf(local_args, "");
    EXPECT_NE(local.exit_code, 0);
    EXPECT_FALSE(fs::exists(path("s.eml")));
}

TEST_F(AgentSmime, DecryptionsThroughTheAgent) {
    m_world.start();
    struct Case {
        std::string label;
        std::vector<std::string> extra;
        std::string operation;
    };
    const std::vector<Case> cases = {
        {"rsa2048", {}, "decrypt"},
        {"rsa2048", {"-keyopt", "rsa_padding_mode:oaep"}, "decrypt"},  // OAEP SHA-1 (SoftHSM)
        {"ecp256", {}, "derive"},
        {"rsa2048-always", {}, "decrypt"},
        {"ecp256-always", {}, "derive"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.label + (c.extra.empty() ? "" : " oaep"));
        const auto in = encrypted_to(c.label, c.extra);
        const auto r = kf({"smime", "decrypt", "--key", key(c.label), "--in", in.string(), "--out",
                           path("d.eml").string()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_TRUE(used_agent(r)) << r.err;
        EXPECT_NE(read_file(path("d.eml")).find("the secret plans"), std::string::npos);
        fs::remove(path("d.eml"));
        const std::string log = read_file(m_world.softhsm().audit_log());
        const std::string last = log.substr(log.rfind('\n', log.size() - 2) + 1);
        EXPECT_NE(last.find("\"operation\":\"" + c.operation + "\""), std::string::npos) << last;
        EXPECT_NE(last.find("\"protocol\":\"s/mime\""), std::string::npos) << last;
    }
}

TEST_F(AgentSmime, ResultsAndExitCodesAreTheSameWithNoAgent) {
    m_world.start();
    const auto in = message("m.eml", "ecp256");
    const auto sealed = encrypted_to("rsa2048");
    struct Case {
        std::vector<std::string> args;
        std::string pin;
        int exit_code;
    };
    const std::vector<Case> cases = {
        {{"smime", "sign", "--key", key("ecp256"), "--in", in.string()}, k_user_pin, 0},
        {{"smime", "sign", "--key", key("ecp256"), "--in", in.string()}, "999999", 3},
        {{"smime", "sign", "--key", key("ecp256"), "--pss", "--in", in.string()}, k_user_pin, 2},
        {{"smime", "decrypt", "--key", key("rsa2048"), "--in", sealed.string()}, k_user_pin, 0},
        {{"smime", "decrypt", "--key", key("rsa2048"), "--in", sealed.string()}, "999999", 3},
        {{"smime", "decrypt", "--key", key("ecp256"), "--in", sealed.string()}, k_user_pin, 5},
    };
    for (const auto& c : cases) {
        auto agent_args = c.args;
        agent_args.insert(agent_args.end(), {"--out", path("agent.out").string()});
        auto local_args = c.args;
        local_args.insert(local_args.end(), {"--out", path("local.out").string(), "--no-agent"});
        const auto agent = kf(agent_args, c.pin);
        const auto local = kf(local_args, c.pin);
        SCOPED_TRACE(c.args[1] + " " + c.args[3] + " pin " + c.pin);
        EXPECT_EQ(agent.exit_code, c.exit_code) << agent.err;
        EXPECT_EQ(local.exit_code, c.exit_code) << local.err;
        EXPECT_FALSE(used_agent(local));
        EXPECT_EQ(fs::exists(path("agent.out")), c.exit_code == 0);
        EXPECT_EQ(fs::exists(path("local.out")), c.exit_code == 0);
        if (c.exit_code != 0) {
            EXPECT_EQ(first_error_line(agent), first_error_line(local));
        } else if (c.args[1] == "decrypt") {
            EXPECT_EQ(read_file(path("agent.out")), read_file(path("local.out")));
            EXPECT_EQ(agent.out, local.out);
        } else {
            EXPECT_TRUE(openssl_verifies(path("agent.out")));
            EXPECT_TRUE(openssl_verifies(path("local.out")));
        }
        fs::remove(path("agent.out"));
        fs::remove(path("local.out"));
    }
}

TEST_F(AgentSmime, AnAgentWithOtherModulesSendsTheCommandBackAndItWorksInProcess) {
    m_world.start();  // with /usr/lib/softhsm/libsofthsm2.so
    // The same module by another name: the agent cannot know it is the same and falls back.
    const std::string other = fs::canonical(k_softhsm_module).string();
    const auto in = message("m.eml", "rsa2048");
    const auto sealed = encrypted_to("ecp256");
    const auto run_other = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--no-p11-kit", "--module", other, "--pin-fd", "3", "-v"});
        return run_keyfence(m_world.softhsm(), args,
                            {.env = env(), .fd3_data = std::string(k_user_pin) + "\n"}, false);
    };
    const auto s = run_other({"smime", "sign", "--key", key("rsa2048"), "--pss", "--in",
                              in.string(), "--out", path("s.eml").string()});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_NE(s.err.find("signing in-process"), std::string::npos) << s.err;
    EXPECT_TRUE(openssl_verifies(path("s.eml")));
    const auto d = run_other({"smime", "decrypt", "--key", key("ecp256"), "--in", sealed.string(),
                              "--out", path("d.eml").string()});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_NE(d.err.find("decrypting in-process"), std::string::npos) << d.err;
    EXPECT_NE(read_file(path("d.eml")).find("the secret plans"), std::string::npos);
}

// Bleichenbacher / Marvin through the agent (tests/smime/smime_oracle_test.cpp in-process): a
// bad PKCS#1 v1.5 padding, a well-padded wrong content key and corrupted content give the same
// exit code, stdout and stderr.
TEST_F(AgentSmime, BadPaddingWrongKeyAndCorruptContentLookTheSameThroughTheAgent) {
    m_world.start();
    const fs::path dir = m_world.softhsm().dir();
    const auto decrypt = [&](const std::string& bytes, const std::string& name) {
        const fs::path in = oracle_message(bytes, name, dir);
        fs::remove(path(name + ".out"));  // an earlier try's (a CBC flip may decrypt)
        // Without -v: what anyone would see.
        auto r = run_keyfence(m_world.softhsm(),
                              {"--pin-fd", "3", "smime", "decrypt", "--key", key("rsa2048"), "--in",
                               in.string(), "--out", path(name + ".out").string()},
                              {.env = env(), .fd3_data = std::string(k_user_pin) + "\n"});
        EXPECT_EQ(fs::exists(path(name + ".out")), r.exit_code == 0) << name;
        return r;
    };
    std::string raw(256, '\x5a');  // not PKCS#1 v1.5: padding bytes 00 17 ...
    raw[0] = '\x00';
    raw[1] = '\x17';
    for (const char* cipher : {"-aes-256-cbc", "-aes-256-gcm"}) {
        SCOPED_TRACE(cipher);
        const std::string der = oracle_enveloped_der(m_world.softhsm(), "rsa2048", cipher, dir);
        const auto with_key = [&](const std::string& plain, const char* padding) {
            return oracle_with_encrypted_key(
                der, oracle_rsa_encrypt(m_world.softhsm(), "rsa2048", plain, padding, dir));
        };
        ASSERT_EQ(decrypt(der, "good").exit_code, 0) << "the control decrypts";
        ASSERT_NE(read_file(path("good.out")).find("the secret plans"), std::string::npos);
        // The right key, the content corrupted at its end (CBC: the final block; GCM: the tag).
        const ProcessResult corrupted = oracle_corrupted_content(der, cipher, decrypt);
        const std::vector<std::pair<std::string, ProcessResult>> runs = {
            {"bad padding", decrypt(with_key(raw, "none"), "pad")},
            {"wrong key", decrypt(with_key(std::string(32, '\x42'), "pkcs1"), "key")},
            {"corrupt content", corrupted},
        };
        const ProcessResult& first = runs.front().second;
        EXPECT_EQ(first.exit_code, 7) << first.err;
        EXPECT_NE(first.err.find("decryption failed"), std::string::npos) << first.err;
        for (const auto& [name, r] : runs) {
            EXPECT_EQ(r.exit_code, first.exit_code) << name;
            EXPECT_EQ(r.out, first.out) << name;
            EXPECT_EQ(r.err, first.err) << name;
        }
    }
    // They went to the agent: the token's unwrap is the agent's, audited there.
    const auto verbose =
        run_keyfence(m_world.softhsm(),
                     {"-v", "--pin-fd", "3", "smime", "decrypt", "--key", key("rsa2048"), "--in",
                      path("pad.eml").string(), "--out", path("pad.out").string()},
                     {.env = env(), .fd3_data = std::string(k_user_pin) + "\n"});
    EXPECT_TRUE(used_agent(verbose)) << verbose.err;
    EXPECT_EQ(verbose.exit_code, 7);
    const std::string log = read_file(m_world.softhsm().audit_log());
    EXPECT_NE(log.find("\"operation\":\"decrypt\""), std::string::npos) << log;
}

TEST_F(AgentSmime, MailProtectAndOpenRoundTripThroughTheAgent) {
    m_world.set_policy("[pin]\nmode = \"session\"\n");
    m_world.start();
    ASSERT_EQ(kf({"certs", "add", m_world.softhsm().cert_pem("ecp256")}).exit_code, 0);
    write_file(path("out.eml"),
               "From: Test rsa2048 <rsa2048@example.org>\nTo: ecp256@example.org\n"
               "Subject: figures\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=utf-8\n\nThe figures are final.\n");
    const auto p = kf({"mail", "protect", "--key", key("rsa2048"), "--in", path("out.eml").string(),
                       "--out", path("p.eml").string()});
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_TRUE(used_agent(p)) << p.err;
    EXPECT_NE(p.err.find("sign and encrypt with S/MIME"), std::string::npos) << p.err;
    // The recipient opens it; the sender's own copy opens inside the agent's session.
    for (const std::string label : {"ecp256", "rsa2048"}) {
        const auto o = kf({"mail", "open", "--key", key(label), "--ca", m_world.softhsm().ca_pem(),
                           "--in", path("p.eml").string(), "--out", path("o.eml").string()},
                          label == "rsa2048" ? "" : k_user_pin);
        EXPECT_EQ(o.exit_code, 0) << label << ": " << o.out << o.err;
        EXPECT_TRUE(used_agent(o)) << o.err;
        EXPECT_NE(o.out.find("Opened: signed by the sender, the whole message"), std::string::npos)
            << o.out;
        EXPECT_NE(read_file(path("o.eml")).find("The figures are final"), std::string::npos);
    }
}

}  // namespace
