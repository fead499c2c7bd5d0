#pragma once
// A GPGME data object that reads an OpenSSL source BIO: gpg reads a streamed MIME part (such as
// smime::first_part_bio's first body part of a multipart/signed file) as it needs it, so that
// a message of any size is verified in constant memory.

#include <openssl/bio.h>

#include "mail/gpgme_handles.hpp"

namespace keyfence::mail::pgp {

/// The state of one reading: the BIO (not owned; it must outlive the data object) and whether
/// it failed (a read error, such as missing multipart delimiters).
struct BioSource {
    BIO* bio = nullptr;
    bool failed = false;
    bool started = false;  ///< bytes were read: the data can no longer be rewound
};

/// Null when GPGME is out of memory. `source` must outlive the data object. The data can be
/// rewound to its start only before the first read (GPGME rewinds before use).
GpgmeDataPtr bio_data(BioSource& source);

}  // namespace keyfence::mail::pgp
