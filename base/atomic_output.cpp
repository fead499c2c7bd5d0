#include "base/atomic_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace keyfence::base {
namespace {
Status write_fully(int fd, const std::uint8_t* data, std::size_t size, const std::string& what) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return system_error(ErrorCode::Io, "could not write " + what, errno);
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

// An unlinked temporary file (0600) in $TMPDIR, or /tmp: where output waits for commit() when
// it cannot be renamed into place.
Result<int> open_spool() {
    const char* tmpdir = std::getenv("TMPDIR");
    const std::string dir = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    std::string temp = dir + "/keyfence-output-XXXXXX";
    std::vector<char> name(temp.begin(), temp.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) {
        return system_error(ErrorCode::Io, "could not create a temporary file in " + dir, errno);
    }
    ::unlink(name.data());
    return fd;
}

mode_t default_file_mode() {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return 0666 & ~mask;
}
}  // namespace

// The blocks of start_write_behind(), written in order by a thread of their own.
class AtomicOutput::WriteBehind {
  public:
    static constexpr std::size_t k_block = 1 << 20;
    static constexpr std::size_t k_queue = 4;

    WriteBehind(int fd, std::string what) : m_fd(fd), m_what(std::move(what)) {
        // The file is empty and every block lands at a multiple of k_block (see write_block).
        const int flags = ::fcntl(m_fd, F_GETFL);
        m_direct = flags >= 0 && ::lseek(m_fd, 0, SEEK_CUR) == 0 &&
                   ::fcntl(m_fd, F_SETFL, flags | O_DIRECT) == 0;
        m_filling = take_free();
        m_worker = std::thread([this] { run(); });
    }
    WriteBehind(const WriteBehind&) = delete;  // owns a thread
    WriteBehind& operator=(const WriteBehind&) = delete;
    ~WriteBehind() { stop(); }

    Status write(const std::uint8_t* data, std::size_t size) {
        while (size > 0) {
            const std::size_t n = std::min(size, k_block - m_fill);
            std::memcpy(m_filling.data() + m_fill, data, n);
            m_fill += n;
            data += n;
            size -= n;
            if (m_fill == k_block) KEYFENCE_TRY(hand_over());
        }
        return {};
    }

    /// Writes what is left and ends the thread. Call once.
    Status finish() {
        stop();
        KEYFENCE_TRY(m_status);
        // The last, partial block through the page cache: O_DIRECT wants whole blocks.
        if (m_direct) ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) & ~O_DIRECT);
        return write_fully(m_fd, m_filling.data(), m_fill, m_what);
    }

  private:
    // A block aligned for O_DIRECT (a page; 4096 covers every logical block size in use).
    struct FreeBlock {
        void operator()(std::uint8_t* p) const noexcept { std::free(p); }
    };
    class Block {
      public:
        Block() = default;
        static Block make() {
            Block b;
            b.m_bytes.reset(static_cast<std::uint8_t*>(std::aligned_alloc(4096, k_block)));
            if (!b.m_bytes) throw std::bad_alloc();
            return b;
        }
        std::uint8_t* data() const noexcept { return m_bytes.get(); }
        static constexpr std::size_t size() noexcept { return k_block; }

      private:
        std::unique_ptr<std::uint8_t, FreeBlock> m_bytes;
    };

    // Writes one whole block at a 1 MiB offset. Directly to the device (O_DIRECT) where the
    // file system allows: on a virtual machine the kernel's copy into newly allocated page cache
    // cost as much as everything else a streaming sign does (docs/pgp.md, "Large messages"),
    // and the data has to reach the disk before commit()'s fsync anyway. Otherwise, or when a
    // direct write is refused (EINVAL), through the page cache with writeback started as the
    // file grows (a hint).
    Status write_block(const Block& block, std::uint64_t& written, std::uint64_t& flushed) {
        if (m_direct) {
            const ssize_t n = ::write(m_fd, block.data(), block.size());
            if (n == static_cast<ssize_t>(block.size())) {
                written += block.size();
                return {};
            }
            // Refused or short: the rest goes through the page cache, from where this left.
            m_direct = false;
            ::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) & ~O_DIRECT);
            if (::lseek(m_fd, static_cast<off_t>(written), SEEK_SET) < 0) {
                return system_error(ErrorCode::Io, "could not write " + m_what, errno);
            }
        }
        KEYFENCE_TRY(write_fully(m_fd, block.data(), block.size(), m_what));
        written += block.size();
        if (written - flushed >= k_flush_every) {
            ::sync_file_range(m_fd, static_cast<off_t>(flushed),
                              static_cast<off_t>(written - flushed), SYNC_FILE_RANGE_WRITE);
            flushed = written;
        }
        return {};
    }

    Block take_free() {
        if (m_free.empty()) return Block::make();
        Block b = std::move(m_free.back());
        m_free.pop_back();
        return b;
    }

    Status hand_over() {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [this] { return m_full.size() < k_queue || !m_status; });
        KEYFENCE_TRY(m_status);
        m_full.push_back(std::move(m_filling));
        m_filling = take_free();
        m_fill = 0;
        lock.unlock();
        m_changed.notify_all();
        return {};
    }

    void stop() noexcept {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_changed.notify_all();
        if (m_worker.joinable()) m_worker.join();
    }

    void run() {
        std::uint64_t written = 0, flushed = 0;
        for (;;) {
            Block block;
            {
                std::unique_lock lock(m_mutex);
                m_changed.wait(lock, [this] { return !m_full.empty() || m_done; });
                if (m_full.empty()) return;  // done, and everything written
                block = std::move(m_full.front());
                m_full.pop_front();
            }
            bool ok = true;
            {
                std::lock_guard lock(m_mutex);
                ok = static_cast<bool>(m_status);
            }
            Status status = ok ? write_block(block, written, flushed) : Status{};
            {
                std::lock_guard lock(m_mutex);
                if (m_status && !status) m_status = std::move(status);
                m_free.push_back(std::move(block));
            }
            m_changed.notify_all();
        }
    }

    int m_fd;
    std::string m_what;
    bool m_direct = false;  ///< whole blocks go O_DIRECT (the worker's, then finish()'s)
    Block m_filling;
    std::size_t m_fill = 0;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<Block> m_full;
    std::vector<Block> m_free;
    Status m_status;  ///< the first write error
    bool m_done = false;
    std::thread m_worker;
};

Result<AtomicOutput> AtomicOutput::open(const std::string& path) {
    if (path.empty() || path == "-") {
        KEYFENCE_TRY_ASSIGN(spool, open_spool());
        return AtomicOutput("-", "", spool);
    }
    struct stat existing {};
    if (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
        if (S_ISDIR(existing.st_mode)) {
            return Error(ErrorCode::Io, path + " is a directory", "give a file name");
        }
        KEYFENCE_TRY_ASSIGN(spool, open_spool());
        return AtomicOutput(path, "", spool);
    }
    const std::filesystem::path target(path);
    std::filesystem::path dir = target.parent_path();
    if (dir.empty()) dir = ".";
    // Built with += : g++ 12 at -O3 warns falsely (-Wrestrict) on "." + std::string.
    std::string hidden(".");
    hidden += target.filename().string();
    hidden += ".keyfence-XXXXXX";
    std::string temp = (dir / hidden).string();
    std::vector<char> name(temp.begin(), temp.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) {
        return system_error(ErrorCode::Io, "could not create a temporary file beside " + path,
                            errno);
    }
    ::fchmod(fd, default_file_mode());
    return AtomicOutput(path, std::string(name.data()), fd);
}

AtomicOutput::AtomicOutput(std::string path, std::string temp_path, int fd)
    : m_path(std::move(path)), m_temp_path(std::move(temp_path)), m_fd(fd) {}

AtomicOutput::AtomicOutput(AtomicOutput&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_temp_path(std::move(other.m_temp_path)),
      m_fd(std::exchange(other.m_fd, -1)),
      m_committed(std::exchange(other.m_committed, true)),
      m_written(other.m_written),
      m_flushed(other.m_flushed),
      m_behind(std::move(other.m_behind)) {}

AtomicOutput::~AtomicOutput() {
    m_behind.reset();  // its thread may still write to m_fd
    if (m_fd >= 0) ::close(m_fd);
    if (!m_committed && !m_temp_path.empty()) ::unlink(m_temp_path.c_str());
}

Status AtomicOutput::write(std::span<const std::uint8_t> bytes) {
    if (m_behind) {
        m_written += bytes.size();
        return m_behind->write(bytes.data(), bytes.size());
    }
    KEYFENCE_TRY(write_fully(m_fd, bytes.data(), bytes.size(), m_path));
    m_written += bytes.size();
    // A large output starts its way to the disk while it is written (Linux), so that commit()'s
    // fsync waits for the last few MiB rather than for all of it. Only a hint: errors show at
    // the fsync.
    if (!spooled() && m_written - m_flushed >= k_flush_every) {
        ::sync_file_range(m_fd, static_cast<off_t>(m_flushed),
                          static_cast<off_t>(m_written - m_flushed), SYNC_FILE_RANGE_WRITE);
        m_flushed = m_written;
    }
    return {};
}

Status AtomicOutput::write(std::string_view text) {
    return write({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

void AtomicOutput::start_write_behind() {
    if (spooled() || m_written != 0 || m_behind) return;
    m_behind = std::make_unique<WriteBehind>(m_fd, m_path);
}

Status AtomicOutput::commit() {
    if (m_committed) return Error(ErrorCode::Internal, "output committed twice");
    if (spooled()) {
        KEYFENCE_TRY(copy_spool());
        m_committed = true;
        return {};
    }
    if (m_behind) {
        const Status written = m_behind->finish();
        m_behind.reset();
        KEYFENCE_TRY(written);
    }
    if (::fsync(m_fd) != 0) return system_error(ErrorCode::Io, "could not sync " + m_path, errno);
    ::close(std::exchange(m_fd, -1));
    if (::rename(m_temp_path.c_str(), m_path.c_str()) != 0) {
        return system_error(ErrorCode::Io, "could not move the output into place at " + m_path,
                            errno);
    }
    m_committed = true;
    // Make the rename itself durable.
    std::filesystem::path dir = std::filesystem::path(m_path).parent_path();
    const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
    return {};
}

Status AtomicOutput::copy_spool() {
    const bool to_stdout = m_path == "-";
    const int target = to_stdout ? STDOUT_FILENO : ::open(m_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (target < 0) return system_error(ErrorCode::Io, "could not open " + m_path, errno);
    const std::string what = to_stdout ? std::string("standard output") : m_path;
    Status status;
    if (::lseek(m_fd, 0, SEEK_SET) != 0) {
        status = system_error(ErrorCode::Io, "could not read back the output", errno);
    }
    std::vector<std::uint8_t> block(1 << 20);
    while (status) {
        const ssize_t n = ::read(m_fd, block.data(), block.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) status = system_error(ErrorCode::Io, "could not read back the output", errno);
        if (n <= 0) break;
        status = write_fully(target, block.data(), static_cast<std::size_t>(n), what);
    }
    if (!to_stdout) ::close(target);
    ::close(std::exchange(m_fd, -1));
    return status;
}

Result<std::string> read_all(const std::string& path) {
    const bool from_stdin = path.empty() || path == "-";
    const int fd = from_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return system_error(ErrorCode::Io, "could not open " + path, errno);
    std::string data;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            const int saved = errno;
            if (!from_stdin) ::close(fd);
            return system_error(ErrorCode::Io,
                                "could not read " + (from_stdin ? std::string("stdin") : path),
                                saved);
        }
        data.append(buf, static_cast<std::size_t>(n));
    }
    if (!from_stdin) ::close(fd);
    return data;
}

}  // namespace keyfence::base
