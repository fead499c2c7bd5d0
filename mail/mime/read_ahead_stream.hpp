#pragma once
// A GMimeStreamFs that reads ahead: GMime's parser reads its stream 4 KiB at a time, and
// GMimeStreamFs turns every read into lseek(2) and read(2), about half a million system calls
// per GiB parsed. This one serves small reads from a 1 MiB block read with pread(2), and
// reads large ones directly. Everything else (seek, eos, substreams) is GMimeStreamFs's.
// Read-only: the file must not change while the stream reads it.

#include <gmime/gmime.h>

namespace keyfence::mail::mime {

/// Takes ownership of `fd` (closed with the stream), which must be open for reading.
GMimeStream* read_ahead_stream_new(int fd);

}  // namespace keyfence::mail::mime
