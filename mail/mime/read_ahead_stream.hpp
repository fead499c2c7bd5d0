#pragma once
// A GMimeStreamFs that reads ahead: GMime's parser reads its stream 4 KiB at a time, and
// GMimeStreamFs turns every read into lseek(2) and read(2), about half a million system calls
// per GiB parsed. This one serves small reads from a 1 MiB block read with pread(2), and
// reads large ones directly. Everything else (seek, eos, substreams) is GMimeStreamFs's.
// Read-only: the file must not change while the stream reads it.

#include <gmime/gmime.h>

#include <cstddef>

namespace keyfence::mail::mime {

/// Takes ownership of `fd` (closed with the stream), which must be open for reading. With
/// `max_line` (bytes), every block read from the file is checked, before the reader sees it,
/// for a line longer than that (the check of mime::check_stream_line_limits, done on the way
/// instead of in a pass of its own): such a block fails the read (EFBIG), and so every read
/// after it.
GMimeStream* read_ahead_stream_new(int fd, std::size_t max_line = 0);

/// With a line limit: whether the reads went through the whole file, in order, and found no
/// line over the limit. False when a line was too long, when the reader stopped early or
/// skipped bytes: the caller then checks the file with check_stream_line_limits().
bool read_ahead_stream_checked_all(GMimeStream* stream);

}  // namespace keyfence::mail::mime
