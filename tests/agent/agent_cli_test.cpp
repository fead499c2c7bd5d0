// keyfence with the agent: the same results and exit codes as in-process, keyfence lock,
// doctor, confirmations with --pin-fd, and an agent killed in the middle of a signature.

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/agent/agent_world.hpp"

namespace {
using namespace keyfence::test;
namespace fs = std::filesystem;

class AgentCli : public ::testing::Test {
  protected:
    void SetUp() override { write_file(data(), "The agent signs this.\n"); }
    fs::path data() { return m_world.softhsm().dir() / "data.txt"; }
    fs::path sig() { return m_world.softhsm().dir() / "data.sig"; }

    ProcessResult sign(const std::string& key, std::vector<std::string> extra = {},
                       const std::string& pin = k_user_pin) {
        std::vector<std::string> args = {"--pin-fd", "3",           "-v",   "sign",
                                         "--key",    key,           "--in", data().string(),
                                         "--out",    sig().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_keyfence(m_world.softhsm(), args,
                            {.env = m_world.env(), .fd3_data = pin + "\n"});
    }
    bool openssl_verifies(const std::string& label) {
        return run({"openssl", "dgst", "-sha256", "-verify", m_world.softhsm().pubkey_pem(label),
                    "-signature", sig().string(), data().string()})
                   .exit_code == 0;
    }

    AgentWorld m_world;
};

TEST_F(AgentCli, SignThroughTheAgentVerifiesAndIsAuditedForTheClient) {
    m_world.start();
    const auto with_agent = sign("pkcs11:token=test-token;object=ecp256");
    ASSERT_EQ(with_agent.exit_code, 0) << with_agent.err;
    EXPECT_NE(with_agent.err.find("using the agent"), std::string::npos) << with_agent.err;
    EXPECT_TRUE(openssl_verifies("ecp256"));
    fs::remove(sig());
    const auto in_process = sign("pkcs11:token=test-token;object=rsa2048", {"--no-agent"});
    ASSERT_EQ(in_process.exit_code, 0) << in_process.err;
    EXPECT_EQ(in_process.err.find("using the agent"), std::string::npos);
    EXPECT_TRUE(openssl_verifies("rsa2048"));
    // The agent's record names its client, the keyfence process, never keyfenced itself.
    const std::string log = read_file(m_world.softhsm().audit_log());
    EXPECT_EQ(log.find("keyfenced"), std::string::npos) << log;
    const std::string first_line = log.substr(0, log.find('\n'));
    EXPECT_NE(first_line.find(";object=ecp256"), std::string::npos) << first_line;
    EXPECT_NE(first_line.find("\"executable\":\"" + std::string(KEYFENCE_BINARY) + "\""),
              std::string::npos)
        << first_line;
}

TEST_F(AgentCli, ErrorsAndExitCodesAreTheSameWithAndWithoutTheAgent) {
    m_world.set_policy("[algorithms]\nmin_rsa_bits = 3072\n");
    m_world.start();
    struct Case {
        std::string key;
        std::vector<std::string> extra;
        std::string pin;
        int exit_code;
    };
    const std::vector<Case> cases = {
        {"pkcs11:token=test-token;object=ecp256", {}, "999999", 3},       // wrong PIN
        {"pkcs11:token=test-token;object=nosuchkey", {}, k_user_pin, 5},  // no key
        {"pkcs11:token=test-token;object=rsa2048", {}, k_user_pin, 6},    // policy
        {"pkcs11:token=test-token;object=ecp256", {"--pss"}, k_user_pin, 2},
    };
    for (const auto& c : cases) {
        const auto agent = sign(c.key, c.extra, c.pin);
        auto extra = c.extra;
        extra.push_back("--no-agent");
        const auto local = sign(c.key, extra, c.pin);
        EXPECT_EQ(agent.exit_code, c.exit_code) << c.key << "\n" << agent.err;
        EXPECT_EQ(local.exit_code, c.exit_code) << c.key << "\n" << local.err;
        EXPECT_EQ(first_error_line(agent), first_error_line(local));
        EXPECT_FALSE(fs::exists(sig()));
    }
}

TEST_F(AgentCli, WithPinFdAConfirmationNeedsAssumeConfirmed) {
    m_world.set_policy("[pin]\nconfirm_each_operation = true\n");
    m_world.start();
    for (const std::string where : {"", "--no-agent"}) {
        std::vector<std::string> extra;
        if (!where.empty()) extra.push_back(where);
        const auto refused = sign("pkcs11:token=test-token;object=ecp256", extra);
        EXPECT_EQ(refused.exit_code, 8) << refused.err;
        EXPECT_NE(refused.err.find("not confirmed"), std::string::npos) << refused.err;
        EXPECT_NE(refused.err.find("--assume-confirmed"), std::string::npos);
        EXPECT_FALSE(fs::exists(sig()));
        extra.push_back("--assume-confirmed");
        const auto confirmed = sign("pkcs11:token=test-token;object=ecp256", extra);
        EXPECT_EQ(confirmed.exit_code, 0) << confirmed.err;
        EXPECT_TRUE(openssl_verifies("ecp256"));
        fs::remove(sig());
    }
}

TEST_F(AgentCli, DoctorAndLockReportTheAgentAndItsSessions) {
    const auto none = run_keyfence(m_world.softhsm(), {"lock"}, {.env = m_world.env()});
    EXPECT_EQ(none.exit_code, 0);
    EXPECT_NE(none.out.find("no agent is running"), std::string::npos) << none.out;
    const auto doctor_off = run_keyfence(m_world.softhsm(), {"doctor"}, {.env = m_world.env()});
    EXPECT_NE(doctor_off.out.find("keyfenced) is not running"), std::string::npos)
        << doctor_off.out;

    m_world.set_policy("[pin]\nmode = \"session\"\n");
    m_world.start();
    ASSERT_EQ(sign("pkcs11:token=test-token;object=ecp256").exit_code, 0);
    const auto doctor = run_keyfence(m_world.softhsm(), {"doctor"}, {.env = m_world.env()});
    EXPECT_NE(doctor.out.find("is running on " + m_world.socket_path() + ": 1 PIN session open"),
              std::string::npos)
        << doctor.out;
    EXPECT_NE(doctor.out.find("token 'test-token'"), std::string::npos);
    const auto lock = run_keyfence(m_world.softhsm(), {"lock"}, {.env = m_world.env()});
    EXPECT_NE(lock.out.find("1 PIN session ended"), std::string::npos) << lock.out;
    const auto after = run_keyfence(m_world.softhsm(), {"doctor"}, {.env = m_world.env()});
    EXPECT_NE(after.out.find("0 PIN sessions open"), std::string::npos) << after.out;
}

TEST_F(AgentCli, APolicyEditAppliesAtTheAgentsNextOperationAndEndsItsSessions) {
    m_world.set_policy("[pin]\nmode = \"session\"\n");
    m_world.start();
    ASSERT_EQ(sign("pkcs11:token=test-token;object=ecp256").exit_code, 0);
    const auto doctor = run_keyfence(m_world.softhsm(), {"doctor"}, {.env = m_world.env()});
    ASSERT_NE(doctor.out.find("1 PIN session open"), std::string::npos) << doctor.out;
    fs::remove(sig());

    // The running agent sees the edit: the new rule refuses, the old session is gone.
    m_world.set_policy("[pin]\nmode = \"session\"\n[algorithms]\nallowed_curves = [\"P-384\"]\n");
    const auto refused = sign("pkcs11:token=test-token;object=ecp256");
    EXPECT_EQ(refused.exit_code, 6) << refused.err;
    EXPECT_NE(refused.err.find("algorithms.allowed_curves"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("using the agent"), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(sig()));
    const auto after = run_keyfence(m_world.softhsm(), {"doctor"}, {.env = m_world.env()});
    EXPECT_NE(after.out.find("0 PIN sessions open"), std::string::npos) << after.out;

    // A broken file refuses every operation, with its line, until it is fixed.
    m_world.set_policy("[pin]\nmode = \"forever\"\n");
    const auto broken = sign("pkcs11:token=test-token;object=ecp256");
    EXPECT_NE(broken.exit_code, 0);
    EXPECT_NE(broken.err.find(":2:"), std::string::npos) << broken.err;
    EXPECT_FALSE(fs::exists(sig()));
    m_world.set_policy("");
    const auto fixed = sign("pkcs11:token=test-token;object=ecp256");
    EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
    EXPECT_TRUE(openssl_verifies("ecp256"));
}

TEST_F(AgentCli, PinentryConfirmsEveryOperationInsideTheSessionAndADeclineSignsNothing) {
    m_world.set_policy("[pin]\nmode = \"session\"\nconfirm_each_operation = true\n");
    m_world.start();
    // A pinentry speaking Assuan: OK to everything, the PIN to GETPIN, CONFIRM as told.
    const fs::path dir = m_world.softhsm().dir();
    const fs::path log = dir / "pinentry.log";
    const auto pinentry = [&](const std::string& confirm_reply) {
        const fs::path script = dir / ("pinentry-" + std::to_string(confirm_reply.size()));
        write_file(script,
                   "#!/bin/bash\necho 'OK Pleased to meet you'\n"
                   "while IFS= read -r line; do\n"
                   "  printf '%s\\n' \"$line\" >> '" +
                       log.string() +
                       "'\n"
                       "  case \"$line\" in\n"
                       "    GETPIN) printf 'D 123456\\nOK\\n' ;;\n"
                       "    CONFIRM) printf '%s\\n' '" +
                       confirm_reply +
                       "' ;;\n"
                       "    BYE) echo OK; exit 0 ;;\n"
                       "    *) echo OK ;;\n"
                       "  esac\n"
                       "done\n");
        fs::permissions(script, fs::perms::owner_all);
        return script.string();
    };
    const std::string accept = pinentry("OK");
    const auto sign_with = [&](const std::string& program) {
        return run_keyfence(
            m_world.softhsm(),
            {"--pinentry", program, "sign", "--key", "pkcs11:token=test-token;object=ecp256",
             "--in", data().string(), "--out", sig().string()},
            {.env = m_world.env()});
    };
    ASSERT_EQ(sign_with(accept).exit_code, 0);
    ASSERT_EQ(sign_with(accept).exit_code, 0);
    EXPECT_TRUE(openssl_verifies("ecp256"));
    std::string text = read_file(log);
    const auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (std::size_t at = 0; (at = text.find(what, at)) != std::string::npos; ++at) ++n;
        return n;
    };
    EXPECT_EQ(count("\nCONFIRM\n"), 2u) << text;
    EXPECT_EQ(count("\nGETPIN\n"), 1u) << "one PIN for the session:\n" << text;
    const std::string sha256 =
        run({"openssl", "dgst", "-sha256", "-r", data().string()}).out.substr(0, 64);
    for (const std::string& shown : {std::string("confirm that you want to sign"),
                                     std::string("ecp256"), std::string("test-token"), sha256}) {
        EXPECT_NE(text.find(shown), std::string::npos) << shown << " not shown:\n" << text;
    }
    fs::remove(sig());
    const auto declined = sign_with(pinentry("ERR 83886179 Operation cancelled"));
    EXPECT_EQ(declined.exit_code, 8) << declined.err;
    EXPECT_NE(declined.err.find("not confirmed"), std::string::npos) << declined.err;
    EXPECT_FALSE(fs::exists(sig()));
}

TEST_F(AgentCli, KillingTheAgentMidOperationGivesAClearErrorAndNoOutput) {
    m_world.start();
    // keyfence reads the PIN from a pipe we hold: it blocks there exactly while the agent
    // waits for the PIN, in the middle of the operation.
    int pin_pipe[2];
    ASSERT_EQ(::pipe(pin_pipe), 0);
    int err_pipe[2];
    ASSERT_EQ(::pipe(err_pipe), 0);
    const pid_t pid =
        spawn({KEYFENCE_BINARY, "--no-p11-kit", "--module", k_softhsm_module, "--pin-fd", "3",
               "sign", "--key", "pkcs11:token=test-token;object=ecp256", "--in", data().string(),
               "--out", sig().string()},
              m_world.env(), {{pin_pipe[0], 3}, {err_pipe[1], 2}});
    ::close(pin_pipe[0]);
    ::close(err_pipe[1]);
    // Wait until keyfence sits in read(3, ...): /proc/PID/syscall starts with "0 0x3".
    bool reading = false;
    for (int i = 0; i < 1200 && !reading; ++i) {
        std::ifstream syscall("/proc/" + std::to_string(pid) + "/syscall");
        std::string number, fd;
        syscall >> number >> fd;
        reading = number == "0" && fd == "0x3";
        if (!reading) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_TRUE(reading);
    m_world.stop(SIGKILL);
    const std::string pin = std::string(k_user_pin) + "\n";
    (void)!::write(pin_pipe[1], pin.data(), pin.size());
    ::close(pin_pipe[1]);
    std::string err;
    char buffer[512];
    for (ssize_t n; (n = ::read(err_pipe[0], buffer, sizeof buffer)) > 0;) err.append(buffer, n);
    ::close(err_pipe[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 8) << err;
    EXPECT_NE(err.find("the agent (keyfenced) stopped during the operation"), std::string::npos)
        << err;
    EXPECT_FALSE(fs::exists(sig()));
    for (const auto& entry : fs::directory_iterator(m_world.softhsm().dir())) {
        EXPECT_EQ(entry.path().filename().string().find("data.sig"), std::string::npos)
            << "no temporary output is left: " << entry.path();
    }
}

}  // namespace
