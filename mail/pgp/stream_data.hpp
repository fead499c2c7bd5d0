#pragma once
// GPGME data objects for messages of any size (docs/pgp.md, "Large messages"): gpg reads a
// file through callbacks (reporting progress, copying what it reads), and writes its ASCII-armored
// output through callbacks that turn its LF line ends into the CRLF of a MIME message. Nothing is
// held but one read buffer.

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "mail/gpgme_handles.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::pgp {

/// Receives bytes; returns false to fail the data operation.
using ByteFn = std::function<bool(std::string_view)>;

/// A data object reading the open file `fd` from its start (pread: the descriptor's offset is
/// left alone); `progress` is told how far gpg has read. With `tee`, every byte gpg reads for
/// the first time is handed to it as well, in file order (so a copy costs no second read).
struct FileSource {
    int fd = -1;
    std::uint64_t total = 0;  ///< for progress; 0: unknown
    smime::ProgressFn progress;
    ByteFn tee;
    std::uint64_t offset = 0;
    std::uint64_t teed = 0;  ///< how much `tee` has had
    bool failed = false;     ///< a read or `tee` failed
    /// 64 KiB transfers into gpg instead of GPGME's 4 KiB (measured: about 15% less time to
    /// sign 256 MiB; 1 MiB blocks were slower than 4 KiB ones with GPGME 1.18). Only for operations
    /// whose output is small (sign, verify): GPGME writes each block to gpg's input pipe in one
    /// blocking write, and a block larger than the pipe deadlocks when gpg itself waits to write a
    /// large output that GPGME does not read meanwhile (seen with encrypt and decrypt).
    bool large_transfers = false;
};
/// Null when GPGME is out of memory. `source` must outlive the data object.
GpgmeDataPtr source_data(FileSource& source);

/// The sink of gpg's ASCII-armored output (read from gpg in blocks of up to 64 KiB): each LF
/// becomes CRLF (a CR already there is kept once), then `write` gets the bytes.
struct ArmorSink {
    ByteFn write;
    bool last_cr = false;
    bool failed = false;
};
/// Null when GPGME is out of memory. `sink` must outlive the data object.
GpgmeDataPtr sink_data(ArmorSink& sink);
/// Hands `bytes` of gpg's armored output to `sink` (LF to CRLF); false when its `write` failed.
bool armor_write(ArmorSink& sink, std::string_view bytes);

/// A data object on `fd` (gpg writes into it, GPGME reading gpg's output in blocks of up to
/// 64 KiB) after rewinding it. Null on failure.
GpgmeDataPtr fd_data(int fd);

}  // namespace keyfence::mail::pgp
