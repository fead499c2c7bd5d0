#pragma once
// The messages of the Bleichenbacher / Marvin tests (tests/smime/smime_oracle_test.cpp
// in-process, tests/agent/agent_smime_test.cpp through the agent): an EnvelopedData that openssl
// encrypts to a token key's certificate, and the same with its RSA encryptedKey replaced by a
// block of the test's choosing — badly padded, or well padded around a wrong content key.

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "tests/support/test_world.hpp"

namespace keyfence::test {

/// The DER EnvelopedData (or AuthEnvelopedData) openssl makes for `label`'s certificate with
/// `cipher` ("-aes-256-gcm", "-aes-256-cbc"); files go to `dir`.
inline std::string oracle_enveloped_der(const SoftHsmWorld& world, const std::string& label,
                                        const char* cipher, const std::filesystem::path& dir) {
    write_file(dir / "entity", "Content-Type: text/plain\r\n\r\nthe secret plans\r\n");
    auto e =
        run({"openssl", "cms", "-encrypt", cipher, "-outform", "DER", "-in",
             (dir / "entity").string(), "-out", (dir / "env.der").string(), world.cert_pem(label)});
    EXPECT_EQ(e.exit_code, 0) << e.err;
    return read_file(dir / "env.der");
}

/// RSA public-key encryption of `plain` with `label`'s key: padding "pkcs1" or "none".
inline std::string oracle_rsa_encrypt(const SoftHsmWorld& world, const std::string& label,
                                      const std::string& plain, const char* padding,
                                      const std::filesystem::path& dir) {
    write_file(dir / "plain.bin", plain);
    auto r = run({"openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", world.pubkey_pem(label),
                  "-pkeyopt", std::string("rsa_padding_mode:") + padding, "-in",
                  (dir / "plain.bin").string(), "-out", (dir / "cipher.bin").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_file(dir / "cipher.bin");
}

/// `der` with its RSA-2048 encryptedKey (an OCTET STRING of 256 bytes: 04 82 01 00) replaced.
inline std::string oracle_with_encrypted_key(std::string der, const std::string& key) {
    const std::string tag("\x04\x82\x01\x00", 4);
    const std::size_t at = der.find(tag);
    EXPECT_NE(at, std::string::npos);
    EXPECT_EQ(der.find(tag, at + 1), std::string::npos) << "one RSA encryptedKey";
    EXPECT_EQ(key.size(), 256u);
    if (at != std::string::npos) der.replace(at + 4, 256, key);
    return der;
}

/// A message to rsa2048@example.org whose body is the S/MIME part `der` (written to
/// dir/NAME.der, the message to dir/NAME.eml, which is returned).
inline std::filesystem::path oracle_message(const std::string& der, const std::string& name,
                                            const std::filesystem::path& dir) {
    write_file(dir / (name + ".der"), der);
    auto b64 = run({"openssl", "base64", "-in", (dir / (name + ".der")).string()});
    write_file(dir / (name + ".eml"),
               "From: bob@example.org\r\nTo: rsa2048@example.org\r\nSubject: sealed\r\n"
               "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
               "smime-type=enveloped-data; name=smime.p7m\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n" +
                   b64.out);
    return dir / (name + ".eml");
}

/// Decrypts `der` (through `decrypt`, which names the try "content") with its content corrupted
/// in its last bytes: for CBC the final block (its padding then fails, but for a 1/256 chance
/// that another flip avoids), for GCM (`cipher` "-aes-256-gcm") the tag. Returns the first try
/// that failed as "decryption failed" does (exit 7), or the last one.
inline ProcessResult oracle_corrupted_content(
    const std::string& der, const char* cipher,
    const std::function<ProcessResult(const std::string&, const std::string&)>& decrypt) {
    ProcessResult corrupted;
    for (int flip = 1; flip < 8 && corrupted.exit_code != 7; ++flip) {
        std::string corrupt = der;
        const std::size_t at = corrupt.size() - (std::string(cipher) == "-aes-256-gcm" ? 5 : 2);
        corrupt[at] = static_cast<char>(corrupt[at] ^ flip);
        corrupted = decrypt(corrupt, "content");
    }
    return corrupted;
}

}  // namespace keyfence::test
