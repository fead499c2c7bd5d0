#include "mail/pgp/recipients.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "mail/pgp/gnupg_tool.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;
}  // namespace

bool is_hidden_recipient(const std::string& keyid) {
    return keyid.find_first_not_of('0') == std::string::npos;
}

HomeTempFile::HomeTempFile(const std::string& dir) : m_path(dir + "/keyfence-in.XXXXXX") {
    m_fd = mkstemp(m_path.data());
}

HomeTempFile::~HomeTempFile() {
    if (m_fd >= 0) {
        close(m_fd);
        unlink(m_path.c_str());
    }
}

bool HomeTempFile::write(std::string_view bytes) {
    if (m_fd < 0) return false;
    while (!bytes.empty()) {
        const ssize_t n = ::write(m_fd, bytes.data(), bytes.size());
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

base::Result<std::vector<std::string>> message_recipients(const std::string& homedir,
                                                          std::string_view ciphertext) {
    HomeTempFile copy(homedir);
    if (!copy.write(ciphertext)) {
        return base::Error(ErrorCode::Io, "could not write a temporary file in " + homedir);
    }
    return message_recipients_file(homedir, copy.path());
}

base::Result<std::vector<std::string>> message_recipients_file(const std::string& homedir,
                                                               const std::string& path) {
    // Only the packet list: gpg decrypts nothing with --list-only.
    auto listing = run_tool({"gpg", "--homedir", homedir, "--batch", "--no-tty", "--list-only",
                             "--list-packets", path});
    std::vector<std::string> keyids;
    std::istringstream lines(listing ? *listing : std::string());
    std::string line;
    while (std::getline(lines, line)) {
        // ":pubkey enc packet: version 3, algo 1, keyid 8B251FA9DF94568C"
        if (line.rfind(":pubkey enc packet:", 0) != 0) continue;
        const auto at = line.find("keyid ");
        if (at == std::string::npos) continue;
        std::string id = line.substr(at + 6, 16);
        for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        keyids.push_back(id);
    }
    if (keyids.empty()) {
        return base::Error(ErrorCode::BadInput,
                           "the message is not encrypted to any public key (or is damaged)",
                           "give a message encrypted to your token key");
    }
    return keyids;
}

}  // namespace keyfence::mail::pgp
