#include "mail/pgp/bind.hpp"

#include <cctype>
#include <sstream>

#include "mail/pgp/gnupg_tool.hpp"
#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// pkcs11-helper writes bytes outside [A-Za-z0-9] as \xHH in its serialized ids.
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 3]))) {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
            i += 3;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

bool valid_uid_text(const std::string& s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == '<' || c == '>') return false;
    }
    return true;
}
}  // namespace

bool parse_keypairinfo(const std::string& line, LearnedKey& key) {
    std::istringstream in(line);
    std::string s, tag, grip, id;
    if (!(in >> s >> tag >> grip >> id) || s != "S" || tag != "KEYPAIRINFO") return false;
    key.keygrip = grip;
    key.id_parts.clear();
    std::size_t start = 0;
    for (;;) {
        const auto slash = id.find('/', start);
        key.id_parts.push_back(unescape(id.substr(start, slash - start)));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return true;
}

base::Result<std::vector<LearnedKey>> learn_token_keys(const std::string& homedir) {
    KEYFENCE_TRY_ASSIGN(out, run_tool({"gpg-connect-agent", "--homedir", homedir,
                                       "LEARN --sendinfo --force", "/bye"}));
    std::vector<LearnedKey> keys;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        LearnedKey key;
        if (parse_keypairinfo(line, key)) keys.push_back(std::move(key));
    }
    if (keys.empty()) {
        return base::Error(ErrorCode::TokenAbsent,
                           "the smartcard daemon of " + homedir + " offers no key",
                           "check 'keyfence pgp setup' and that the token holds an RSA key with "
                           "a certificate (gnupg-pkcs11-scd lists only those)");
    }
    return keys;
}

base::Result<std::pair<std::string, std::string>> split_uid(const std::string& uid) {
    const auto open = uid.rfind('<');
    const auto close = uid.rfind('>');
    if (open == std::string::npos || close == std::string::npos || close < open + 2 ||
        close + 1 != uid.size()) {
        return base::Error(ErrorCode::Usage, "the user ID must be \"Name <address>\"");
    }
    std::string name = uid.substr(0, open);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    std::string address = uid.substr(open + 1, close - open - 1);
    if (!valid_uid_text(name) || !valid_uid_text(address) ||
        address.find('@') == std::string::npos) {
        return base::Error(ErrorCode::Usage, "the user ID must be \"Name <address>\"");
    }
    return std::make_pair(std::move(name), std::move(address));
}

base::Result<std::string> create_certificate(Context& ctx, const std::string& keygrip,
                                             const std::string& uid) {
    KEYFENCE_TRY_ASSIGN(parts, split_uid(uid));
    // gpg's batch key generation (GPGME manual "Generating Keys"); Key-Grip takes the key from
    // the token instead of generating one (gpg 2.2).
    std::string params =
        "<GnupgKeyParms format=\"internal\">\n"
        "Key-Type: RSA\n"
        "Key-Grip: " +
        keygrip +
        "\n"
        "Key-Usage: sign,encrypt\n";
    if (!parts.first.empty()) params += "Name-Real: " + parts.first + "\n";
    params += "Name-Email: " + parts.second +
              "\n"
              "Expire-Date: 0\n"
              "</GnupgKeyParms>\n";
    if (auto err = gpgme_op_genkey(ctx.get(), params.c_str(), nullptr, nullptr); err != 0) {
        return gpg_error(err, "gpg could not make the OpenPGP certificate",
                         ErrorCode::ModuleFailure);
    }
    gpgme_genkey_result_t result = gpgme_op_genkey_result(ctx.get());
    if (result == nullptr || result->fpr == nullptr) {
        return base::Error(ErrorCode::ModuleFailure, "gpg made no certificate");
    }
    return std::string(result->fpr);
}

}  // namespace keyfence::mail::pgp
