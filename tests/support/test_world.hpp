#pragma once
// Test worlds: a temporary directory removed at the end, a private SoftHSM2 store copied from
// the template that the `softhsm_template` CTest fixture builds, and running programs.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keyfence::test {

inline constexpr const char* k_softhsm_module = "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr const char* k_user_pin = "123456";

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }

  private:
    std::filesystem::path m_path;
};

/// A private copy of the SoftHSM template (tokens "test-token" and "mixed-token"; see
/// tests/support/make-softhsm-template.sh). Sets SOFTHSM2_CONF, and XDG_STATE_HOME and
/// XDG_CONFIG_HOME to dir()/state and dir()/config (the audit log and the user's policy), for
/// this process while it lives.
class SoftHsmWorld {
  public:
    SoftHsmWorld();
    ~SoftHsmWorld();
    SoftHsmWorld(const SoftHsmWorld&) = delete;
    SoftHsmWorld& operator=(const SoftHsmWorld&) = delete;

    const std::filesystem::path& dir() const { return m_dir.path(); }
    std::string conf() const { return (dir() / "softhsm2.conf").string(); }
    std::string cert_pem(const std::string& label) const;
    std::string pubkey_pem(const std::string& label) const;
    std::string ca_pem() const;
    /// The audit log keyfence writes in this world (under XDG_STATE_HOME).
    std::filesystem::path audit_log() const { return dir() / "state" / "keyfence" / "audit.log"; }
    /// The user's policy file in this world (under XDG_CONFIG_HOME).
    std::filesystem::path user_config() const {
        return dir() / "config" / "keyfence" / "config.toml";
    }
    /// Environment for a child process: SOFTHSM2_CONF, XDG_STATE_HOME, XDG_CONFIG_HOME (unless
    /// `extra` sets them) plus `extra`.
    std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const;

  private:
    TempDir m_dir;
    std::map<std::string, std::string> m_saved_env;
};

struct ProcessResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

struct ProcessOptions {
    std::map<std::string, std::string>
        env;  ///< added to a minimal environment (PATH, HOME, TMPDIR)
    std::string stdin_data;
    std::optional<std::string> fd3_data;  ///< written to a pipe the child reads as fd 3
    std::filesystem::path cwd;
    /// A child still running after this long is reported (its process group and GnuPG daemons,
    /// with stacks) on `err` and killed, exit code 124: a hang fails with evidence before the
    /// CTest timeout (docs/testing.md, "Reruns").
    int timeout_seconds = 80;
};

/// Runs argv[0] (found on PATH if not absolute) and waits for it.
ProcessResult run(const std::vector<std::string>& argv, const ProcessOptions& options = {});

/// The keyfence binary under test, with `args`; hermetic: --no-p11-kit --module SoftHSM unless
/// `hermetic` is false.
ProcessResult run_keyfence(const SoftHsmWorld& world, std::vector<std::string> args,
                           ProcessOptions options = {}, bool hermetic = true);

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& data);

}  // namespace keyfence::test
