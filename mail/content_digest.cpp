#include "mail/content_digest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/handles.hpp"
#include "base/openssl_error.hpp"
#include "base/progress.hpp"

namespace keyfence::mail {
namespace {
struct Fd {
    int fd;
    bool owned;
    ~Fd() {
        if (owned && fd >= 0) ::close(fd);
    }
};
}  // namespace

base::Result<ContentDigest> digest_content(const std::string& path, const std::string& algorithm) {
    const EVP_MD* md = EVP_get_digestbyname(algorithm.c_str());
    if (md == nullptr ||
        (algorithm != "sha256" && algorithm != "sha384" && algorithm != "sha512")) {
        return base::Error(base::ErrorCode::Usage, "unknown hash '" + algorithm + "'",
                           "use sha256, sha384 or sha512");
    }
    const bool from_stdin = path.empty() || path == "-";
    Fd in{from_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC), !from_stdin};
    if (in.fd < 0) return base::system_error(base::ErrorCode::Io, "could not open " + path, errno);
    struct stat st {};
    const std::uint64_t total = ::fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode)
                                    ? static_cast<std::uint64_t>(st.st_size)
                                    : 0;

    base::EvpMdCtxPtr chosen(EVP_MD_CTX_new());
    base::EvpMdCtxPtr sha256(EVP_MD_CTX_new());
    if (!chosen || !sha256 || EVP_DigestInit_ex(chosen.get(), md, nullptr) != 1 ||
        EVP_DigestInit_ex(sha256.get(), EVP_sha256(), nullptr) != 1) {
        return base::openssl_error(base::ErrorCode::Internal, "could not start hashing");
    }
    const bool twice = algorithm != "sha256";
    base::Progress progress("hashing " + (from_stdin ? std::string("standard input") : path),
                            total);
    ContentDigest result;
    result.algorithm = algorithm;
    std::vector<unsigned char> buffer(1 << 16);
    for (;;) {
        const ssize_t n = ::read(in.fd, buffer.data(), buffer.size());
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return base::system_error(
                base::ErrorCode::Io, "could not read " + (from_stdin ? std::string("stdin") : path),
                errno);
        }
        EVP_DigestUpdate(chosen.get(), buffer.data(), static_cast<std::size_t>(n));
        if (twice) EVP_DigestUpdate(sha256.get(), buffer.data(), static_cast<std::size_t>(n));
        result.size += static_cast<std::uint64_t>(n);
        progress.update(result.size);
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(chosen.get(), out, &len);
    result.digest.assign(out, out + len);
    if (twice) {
        EVP_DigestFinal_ex(sha256.get(), out, &len);
        result.sha256.assign(out, out + len);
    } else {
        result.sha256 = result.digest;
    }
    return result;
}

}  // namespace keyfence::mail
