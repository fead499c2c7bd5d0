#include "mail/smime/stream_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

base::Error io_error(const std::string& what) {
    return base::Error(ErrorCode::Io, what + ": " + std::strerror(errno));
}
}  // namespace

base::Result<TempFile> TempFile::create() {
    const char* dir = std::getenv("TMPDIR");
    std::string name =
        std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/keyfence-XXXXXX";
    const int fd = ::mkstemp(name.data());  // mode 0600
    if (fd < 0) return io_error("could not create a temporary file in " + name);
    // Unlinked at once: nothing (no plaintext) is left behind even if the process dies. The
    // file stays reachable by this process through /proc/self/fd (Linux).
    ::unlink(name.c_str());
    return TempFile("/proc/self/fd/" + std::to_string(fd), fd);
}

TempFile::TempFile(TempFile&& other) noexcept : m_path(std::move(other.m_path)), m_fd(other.m_fd) {
    other.m_fd = -1;
    other.m_path.clear();
}

TempFile::~TempFile() {
    if (m_fd >= 0) ::close(m_fd);
}

base::Status write_fd(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return io_error("could not write a temporary file");
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

base::Result<InputFile> open_input(const std::string& path) {
    struct stat st {};
    const bool std_in = path.empty() || path == "-";
    if (!std_in) {
        if (::stat(path.c_str(), &st) != 0) return io_error("cannot read " + path);
        if (S_ISREG(st.st_mode)) return InputFile{path, static_cast<std::uint64_t>(st.st_size), {}};
    }
    const int in = std_in ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return io_error("cannot read " + path);
    KEYFENCE_TRY_ASSIGN(temp, TempFile::create());
    std::vector<char> buf(1 << 20);
    std::uint64_t total = 0;
    for (;;) {
        const ssize_t n = ::read(in, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (!std_in) ::close(in);
            return io_error("cannot read " + (std_in ? std::string("standard input") : path));
        }
        if (n == 0) break;
        KEYFENCE_TRY(
            write_fd(temp.fd(), std::string_view(buf.data(), static_cast<std::size_t>(n))));
        total += static_cast<std::uint64_t>(n);
    }
    if (!std_in) ::close(in);
    InputFile file{temp.path(), total, {}};
    file.spool.push_back(std::move(temp));
    return file;
}

bool BufferedWriter::write(std::string_view bytes) {
    if (!m_status) return false;
    m_written += bytes.size();
    if (m_buffer.size() + bytes.size() < k_block) {
        m_buffer.append(bytes);
        return true;
    }
    if (!m_buffer.empty()) {
        m_status = m_sink(m_buffer);
        m_buffer.clear();
        if (!m_status) return false;
    }
    if (bytes.size() >= k_block) {
        m_status = m_sink(bytes);
    } else {
        m_buffer.append(bytes);
    }
    return static_cast<bool>(m_status);
}

base::Status BufferedWriter::flush() {
    if (m_status && !m_buffer.empty()) m_status = m_sink(m_buffer);
    m_buffer.clear();
    return m_status;
}

Hasher::Hasher(const EVP_MD* md) : m_ctx(EVP_MD_CTX_new()) {
    if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), md, nullptr) != 1) throw std::bad_alloc();
}

void Hasher::update(std::string_view bytes) {
    EVP_DigestUpdate(m_ctx.get(), bytes.data(), bytes.size());
}

std::vector<std::uint8_t> Hasher::final() {
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    EVP_DigestFinal_ex(m_ctx.get(), out.data(), &len);
    out.resize(len);
    return out;
}

base::Result<std::vector<std::uint8_t>> Hasher::so_far() const {
    base::EvpMdCtxPtr copy(EVP_MD_CTX_new());
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    if (!copy || EVP_MD_CTX_copy_ex(copy.get(), m_ctx.get()) != 1 ||
        EVP_DigestFinal_ex(copy.get(), out.data(), &len) != 1) {
        return base::Error(base::ErrorCode::Internal, "could not copy a hash state");
    }
    out.resize(len);
    return out;
}

base::Status read_chunks(const std::string& path,
                         const std::function<void(std::string_view)>& chunk) {
    base::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return io_error("cannot read " + path);
    std::vector<char> buf(1 << 20);
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("cannot read " + path);
        if (n == 0) return {};
        chunk(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    }
}

namespace {
using WriteFn = std::function<bool(std::string_view)>;

int sink_write(BIO* bio, const char* data, int len) {
    auto* write = static_cast<WriteFn*>(BIO_get_data(bio));
    if (write == nullptr || len < 0) return -1;
    // No exception may cross into OpenSSL's C code.
    try {
        return (*write)(std::string_view(data, static_cast<std::size_t>(len))) ? len : -1;
    } catch (...) {
        return -1;
    }
}

long sink_ctrl(BIO*, int cmd, long, void*) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD* sink_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "keyfence sink");
        BIO_meth_set_write(m, sink_write);
        BIO_meth_set_ctrl(m, sink_ctrl);
        return m;
    }();
    return method;
}
}  // namespace

base::Result<base::BioPtr> sink_bio(std::function<bool(std::string_view)>* write) {
    base::BioPtr bio(BIO_new(sink_method()));
    if (!bio) return base::Error(ErrorCode::Internal, "no BIO");
    BIO_set_data(bio.get(), write);
    BIO_set_init(bio.get(), 1);
    return bio;
}

}  // namespace keyfence::mail::smime
