#pragma once
// AtomicOutput: output that appears whole or not at all. A regular file is written to a
// temporary file in the same directory and renamed into place by commit(). Standard output, and
// a target that is not a regular file (a FIFO, /dev/null, /dev/stdout: a rename would replace
// the device itself), are spooled to an unlinked temporary file in $TMPDIR and copied to the
// target by commit(), so that they too get nothing before it, in constant memory. Destroyed
// without commit(), it leaves nothing behind.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace keyfence::base {

class AtomicOutput {
  public:
    /// Opens `path` for writing; an empty path or "-" means standard output. A directory is
    /// refused (Io).
    static Result<AtomicOutput> open(const std::string& path);

    AtomicOutput(AtomicOutput&& other) noexcept;
    AtomicOutput& operator=(AtomicOutput&&) = delete;
    AtomicOutput(const AtomicOutput&) = delete;  // two owners of one temp file
    AtomicOutput& operator=(const AtomicOutput&) = delete;
    ~AtomicOutput();

    Status write(std::span<const std::uint8_t> bytes);
    Status write(std::string_view text);
    /// For large outputs, before the first write: from then on write() only copies the bytes
    /// into 1 MiB blocks, which a second thread writes to the temporary file, so that the
    /// write overlaps the caller's work. Whole blocks go with O_DIRECT where the file system
    /// takes it: on a virtual machine the kernel's copy into newly allocated page cache cost
    /// more than the hashing it overlapped (docs/pgp.md, "Large messages"), and the data must
    /// reach the disk before commit()'s fsync anyway. Elsewhere (tmpfs, a refused direct
    /// write) they go through the page cache, writeback started every 8 MiB; the last,
    /// partial block always does. A write error shows at a later write() or at commit().
    /// Memory: at most six blocks. No effect on standard output, or after a write.
    void start_write_behind();

    /// Flushes, fsyncs and renames the temporary file into place (or copies the spool to
    /// standard output or the device).
    Status commit();

    const std::string& path() const noexcept { return m_path; }

  private:
    class WriteBehind;
    AtomicOutput(std::string path, std::string temp_path, int fd);
    bool spooled() const noexcept { return m_temp_path.empty(); }
    Status copy_spool();

    std::string m_path;
    std::string m_temp_path;
    int m_fd = -1;
    bool m_committed = false;
    static constexpr std::uint64_t k_flush_every = 8 << 20;
    std::uint64_t m_written = 0;            ///< bytes written to the temporary file or spool
    std::uint64_t m_flushed = 0;            ///< of which writeback was started (sync_file_range)
    std::unique_ptr<WriteBehind> m_behind;  ///< after start_write_behind()
};

/// Reads a whole file ("-" or empty: standard input) into memory.
Result<std::string> read_all(const std::string& path);

}  // namespace keyfence::base
