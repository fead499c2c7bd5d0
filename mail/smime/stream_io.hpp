#pragma once
// Plumbing for processing messages of any size in constant memory: temporary files that vanish
// with their owner, input spooled to a seekable file, buffered writing, and incremental hashing.

#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/handles.hpp"
#include "base/result.hpp"

namespace keyfence::mail::smime {

/// Told how many bytes of a phase are done (and of how many, 0: unknown), for a progress line.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// A temporary file, created 0600 in $TMPDIR (or /tmp) and unlinked at once, so that it
/// vanishes with its descriptor whatever happens to the process; path() names it as
/// /proc/self/fd/N for code that opens files by name (Linux).
class TempFile {
  public:
    /// Errors: Io.
    static base::Result<TempFile> create();
    TempFile(TempFile&& other) noexcept;
    TempFile& operator=(TempFile&&) = delete;
    TempFile(const TempFile&) = delete;  // one owner closes the descriptor
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile();

    const std::string& path() const noexcept { return m_path; }
    int fd() const noexcept { return m_fd; }

  private:
    TempFile(std::string path, int fd) : m_path(std::move(path)), m_fd(fd) {}
    std::string m_path;
    int m_fd = -1;
};

/// An input as a seekable file: a regular file is used in place; standard input ("-" or "")
/// or a pipe is copied, in chunks, to a temporary file first.
struct InputFile {
    std::string path;
    std::uint64_t size = 0;
    std::vector<TempFile> spool;  ///< empty, or the one copy
};
/// Errors: Io.
base::Result<InputFile> open_input(const std::string& path);

/// Collects small writes into 1 MiB blocks for `sink` (a file, an AtomicOutput...): GMime and
/// OpenSSL write in 4 KiB pieces. flush() before the sink's owner finishes.
class BufferedWriter {
  public:
    using Sink = std::function<base::Status(std::string_view)>;
    explicit BufferedWriter(Sink sink) : m_sink(std::move(sink)) { m_buffer.reserve(k_block); }
    /// False once a write failed; the error is kept in status().
    bool write(std::string_view bytes);
    base::Status flush();
    const base::Status& status() const noexcept { return m_status; }
    std::uint64_t written() const noexcept { return m_written; }

  private:
    static constexpr std::size_t k_block = 1 << 20;
    Sink m_sink;
    std::string m_buffer;
    base::Status m_status;
    std::uint64_t m_written = 0;
};

/// write(2) of all of `bytes` to `fd`. Errors: Io.
base::Status write_fd(int fd, std::string_view bytes);

/// An incremental hash (EVP): update() in pieces, then final().
class Hasher {
  public:
    explicit Hasher(const EVP_MD* md);
    void update(std::string_view bytes);
    std::vector<std::uint8_t> final();
    /// The hash of what was given so far; update() may go on. Errors: Internal.
    base::Result<std::vector<std::uint8_t>> so_far() const;

  private:
    base::EvpMdCtxPtr m_ctx;
};

/// A sink BIO: every BIO_write hands its bytes to `*write` (which must outlive the BIO), and
/// fails when it returns false. For OpenSSL's streaming CMS output. Errors: Internal.
base::Result<base::BioPtr> sink_bio(std::function<bool(std::string_view)>* write);

/// A source BIO that owns `source` and reads from it, for OpenSSL code that pulls content
/// (CMS_verify, CMS_decrypt): `int Source::read(char* out, int len)` returns the bytes read, 0 at
/// the end, -1 on failure, and throws nothing. Errors: Internal.
template <class Source>
base::Result<base::BioPtr> source_bio(std::unique_ptr<Source> source, const char* name) {
    static BIO_METHOD* method = [name] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, name);
        BIO_meth_set_read(m, [](BIO* bio, char* out, int len) -> int {
            auto* s = static_cast<Source*>(BIO_get_data(bio));
            return s == nullptr || len <= 0 ? 0 : s->read(out, len);
        });
        BIO_meth_set_ctrl(
            m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
        BIO_meth_set_destroy(m, [](BIO* bio) -> int {
            delete static_cast<Source*>(BIO_get_data(bio));
            BIO_set_data(bio, nullptr);
            return 1;
        });
        return m;
    }();
    base::BioPtr bio(method != nullptr ? BIO_new(method) : nullptr);
    if (!bio) return base::Error(base::ErrorCode::Internal, "no BIO");
    BIO_set_data(bio.get(), source.release());
    BIO_set_init(bio.get(), 1);
    return bio;
}

/// Reads the file at `path` in 1 MiB chunks, handing each to `chunk`. Errors: Io.
base::Status read_chunks(const std::string& path,
                         const std::function<void(std::string_view)>& chunk);

}  // namespace keyfence::mail::smime
