#include "mail/pgp/recipients.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
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

namespace {
// The key ids of gpg's packet listing; `complete` tells whether the listing reached the
// encrypted data packet, after which no session key packet can follow (RFC 4880 §5.1, §11.3).
struct Listing {
    std::vector<std::string> keyids;
    bool complete = false;
};

Listing list_packets(const std::string& homedir, const std::string& path) {
    // Only the packet list: gpg decrypts nothing with --list-only. A cut-off message makes gpg
    // fail after listing what it could read: that output is still good. --no-autostart: the
    // listing needs no gpg-agent, and one started here would only be stopped again before the
    // operation (a fresh agent for the PIN), which costs up to seconds on a busy disk.
    auto listing = run_tool({"gpg", "--homedir", homedir, "--batch", "--no-tty", "--no-autostart",
                             "--list-only", "--list-packets", path},
                            true);
    Listing r;
    std::istringstream lines(listing ? *listing : std::string());
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(":encrypted data packet:", 0) == 0 ||
            line.rfind(":aead encrypted packet:", 0) == 0) {
            r.complete = true;
            break;
        }
        // ":pubkey enc packet: version 3, algo 1, keyid 8B251FA9DF94568C"
        if (line.rfind(":pubkey enc packet:", 0) != 0) continue;
        const auto at = line.find("keyid ");
        if (at == std::string::npos) continue;
        std::string id = line.substr(at + 6, 16);
        for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        r.keyids.push_back(id);
    }
    return r;
}

// The session key packets come first (RFC 4880 §11.3): 64 KiB of armor hold well over fifty of
// them. Listing only that head keeps gpg from reading (and de-armoring) a large message twice.
constexpr std::size_t k_head_bytes = 64 * 1024;

std::optional<Listing> list_head(const std::string& homedir, const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string head(k_head_bytes, '\0');
    std::size_t got = 0;
    while (got < head.size()) {
        const ssize_t n = ::read(fd, head.data() + got, head.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (got < head.size()) return std::nullopt;  // small: the whole file is listed anyway
    HomeTempFile copy(homedir);
    if (!copy.write(head)) return std::nullopt;
    return list_packets(homedir, copy.path());
}
}  // namespace

base::Result<std::vector<std::string>> message_recipients_file(const std::string& homedir,
                                                               const std::string& path) {
    auto head = list_head(homedir, path);
    Listing listing = head && head->complete ? std::move(*head) : list_packets(homedir, path);
    if (listing.keyids.empty()) {
        return base::Error(ErrorCode::BadInput,
                           "the message is not encrypted to any public key (or is damaged)",
                           "give a message encrypted to your token key");
    }
    return std::move(listing.keyids);
}

base::Result<std::vector<std::string>> message_recipients_range(const std::string& homedir, int fd,
                                                                std::uint64_t offset,
                                                                std::uint64_t length) {
    // A copy of the range's first 64 KiB (the session key packets come first), and of the whole
    // range only when the listing of that head does not reach the encrypted data.
    auto copy = [&](std::uint64_t bytes) -> base::Result<std::unique_ptr<HomeTempFile>> {
        auto file = std::make_unique<HomeTempFile>(homedir);
        std::string block;
        for (std::uint64_t done = 0; done < bytes;) {
            block.resize(static_cast<std::size_t>(std::min<std::uint64_t>(bytes - done, 1 << 20)));
            const ssize_t n =
                ::pread(fd, block.data(), block.size(), static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0 ||
                !file->write(std::string_view(block.data(), static_cast<std::size_t>(n)))) {
                return base::Error(ErrorCode::Io, "could not copy the ciphertext into " + homedir);
            }
            done += static_cast<std::uint64_t>(n);
        }
        return file;
    };
    if (length > k_head_bytes) {
        KEYFENCE_TRY_ASSIGN(head, copy(k_head_bytes));
        Listing listing = list_packets(homedir, head->path());
        if (listing.complete && !listing.keyids.empty()) return std::move(listing.keyids);
    }
    KEYFENCE_TRY_ASSIGN(whole, copy(length));
    return message_recipients_file(homedir, whole->path());
}

}  // namespace keyfence::mail::pgp
