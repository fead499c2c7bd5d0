#pragma once
// The protocol commands `keyfence mail protect` and `mail open` dispatch to: the same code, options
// and reports as `keyfence smime ...` and `keyfence pgp ...`, so that both paths behave alike.

#include <string>
#include <vector>

#include "base/result.hpp"
#include "cli/globals.hpp"

namespace keyfence::cli {

struct SmimeSignOptions {
    std::string key_uri;
    bool opaque = false;
    bool pss = false;
    std::string hash;  ///< empty: by key (RFC 5480 §4 for EC)
    std::string chain;
    std::string in = "-";
    std::string out = "-";
};

struct SmimeEncryptOptions {
    std::vector<std::string> to;
    std::string key_uri;
    bool legacy_cbc = false;
    bool oaep = false;
    std::string in = "-";
    std::string out = "-";
};

struct SmimeDecryptOptions {
    std::string key_uri;
    std::vector<std::string> ca_files;
    std::string in = "-";
    std::string out = "-";
};

struct SmimeVerifyOptions {
    std::vector<std::string> ca_files;
    std::vector<std::string> chain_files;
    std::string at;
    std::string in = "-";
    std::string out;
};

struct PgpSignOptions {
    std::string homedir;
    std::string key;
    std::string in = "-";
    std::string out = "-";
};

struct PgpVerifyOptions {
    std::string homedir;
    std::string at;  ///< verify as of this time (cli/time_option.hpp), or "" for now
    std::string in = "-";
    std::string out;
};

struct PgpEncryptOptions {
    std::string homedir;
    std::vector<std::string> to;
    std::string key;  ///< the sender's key; empty: by the From: address
    bool sign = false;
    std::string in = "-";
    std::string out = "-";
};

struct PgpDecryptOptions {
    std::string homedir;
    std::string key;  ///< empty: the token key the message is encrypted to
    std::string in = "-";
    std::string out = "-";
};

/// What a decryption found inside, for `mail open`: whether a signature was there (its verdict
/// is the command's exit code).
struct DecryptOutcome {
    bool signature_inside = false;
};

base::Status run_smime_sign(const GlobalOptions& globals, const SmimeSignOptions& options);
base::Status run_smime_encrypt(const GlobalOptions& globals, const SmimeEncryptOptions& options);
int run_smime_decrypt(const GlobalOptions& globals, const SmimeDecryptOptions& options,
                      DecryptOutcome* outcome = nullptr);
int run_smime_verify(const GlobalOptions& globals, const SmimeVerifyOptions& options);
base::Status run_pgp_sign(const GlobalOptions& globals, const PgpSignOptions& options);
int run_pgp_verify(const GlobalOptions& globals, const PgpVerifyOptions& options);
base::Status run_pgp_encrypt(const GlobalOptions& globals, const PgpEncryptOptions& options);
int run_pgp_decrypt(const GlobalOptions& globals, const PgpDecryptOptions& options,
                    DecryptOutcome* outcome = nullptr);

}  // namespace keyfence::cli
