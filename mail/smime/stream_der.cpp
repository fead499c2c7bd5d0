#include "mail/smime/stream_der.hpp"

#include "mail/smime/stream_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

constexpr std::uint64_t k_max_element = 16u << 20;  // anything but the content is small
constexpr std::uint8_t k_sequence = 0x30, k_set = 0x31, k_ctx0_cons = 0xa0, k_ctx0_prim = 0x80;
constexpr std::uint8_t k_octets = 0x04, k_octets_cons = 0x24;

base::Error malformed(const std::string& what) {
    return base::Error(ErrorCode::BadInput,
                       "the S/MIME part is not a valid CMS structure (RFC 5652): " + what);
}

// Random-access reads of a file descriptor (pread), for headers and small elements.
class File {
  public:
    static base::Result<File> open(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return base::Error(ErrorCode::Io, "cannot read " + path + ": " + std::strerror(errno));
        }
        const off_t size = ::lseek(fd, 0, SEEK_END);
        return File(fd, size < 0 ? 0 : static_cast<std::uint64_t>(size));
    }
    File(File&& o) noexcept
        : m_fd(o.m_fd),
          m_size(o.m_size),
          m_window(std::move(o.m_window)),
          m_window_start(o.m_window_start) {
        o.m_fd = -1;
    }
    File& operator=(File&&) = delete;
    File(const File&) = delete;  // one close per descriptor
    File& operator=(const File&) = delete;
    ~File() {
        if (m_fd >= 0) ::close(m_fd);
    }
    std::uint64_t size() const noexcept { return m_size; }
    /// Up to `len` bytes at `offset`; fewer only at the end of the file; -1 on error. Reads go
    /// through a 1 MiB window: the walk over a constructed OCTET STRING's headers and the
    /// content reads are sequential, and one pread(2) per 4 KiB segment cost more than the
    /// decryption.
    long read(std::uint64_t offset, char* out, std::size_t len) const {
        std::size_t done = 0;
        while (done < len) {
            const std::uint64_t at = offset + done;
            if (at < m_window_start || at >= m_window_start + m_window.size()) {
                if (!fill(at)) return -1;
                if (m_window.empty()) break;  // end of file
            }
            const std::size_t skip = static_cast<std::size_t>(at - m_window_start);
            const std::size_t n = std::min(len - done, m_window.size() - skip);
            std::memcpy(out + done, m_window.data() + skip, n);
            done += n;
        }
        return static_cast<long>(done);
    }

  private:
    File(int fd, std::uint64_t size) : m_fd(fd), m_size(size) {}
    bool fill(std::uint64_t offset) const {
        m_window.resize(k_window);
        std::size_t got = 0;
        while (got < k_window) {
            const ssize_t n = ::pread(m_fd, m_window.data() + got, k_window - got,
                                      static_cast<off_t>(offset + got));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return false;
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        m_window.resize(got);
        m_window_start = offset;
        return true;
    }
    static constexpr std::size_t k_window = 1 << 20;
    int m_fd;
    std::uint64_t m_size;
    mutable std::vector<char> m_window;
    mutable std::uint64_t m_window_start = 0;
};

// X.690 §8.1: identifier (low tag numbers only: CMS needs no others), length (definite up to
// 8 octets, or indefinite).
struct Header {
    std::uint8_t tag = 0;
    bool indefinite = false;
    std::uint64_t length = 0;
    std::uint64_t header_size = 0;
    bool constructed() const { return (tag & 0x20) != 0; }
};

base::Result<Header> read_header(const File& file, std::uint64_t offset) {
    unsigned char b[10] = {};
    const long n = file.read(offset, reinterpret_cast<char*>(b), sizeof b);
    if (n < 2) return malformed("truncated");
    Header h;
    h.tag = b[0];
    if ((h.tag & 0x1f) == 0x1f) return malformed("unexpected high tag number");
    if (b[1] < 0x80) {
        h.length = b[1];
        h.header_size = 2;
    } else if (b[1] == 0x80) {
        if (!h.constructed()) return malformed("indefinite length on a primitive element");
        h.indefinite = true;
        h.header_size = 2;
    } else {
        const unsigned count = b[1] & 0x7f;
        if (count > 8 || n < static_cast<long>(2 + count)) return malformed("bad length");
        for (unsigned i = 0; i < count; ++i) h.length = (h.length << 8) | b[2 + i];
        h.header_size = 2 + count;
    }
    if (!h.indefinite && h.length > file.size() - std::min(file.size(), offset + h.header_size)) {
        return malformed("an element runs past the end");
    }
    return h;
}

bool is_end_of_contents(const File& file, std::uint64_t offset) {
    char b[2] = {1, 1};
    return file.read(offset, b, 2) == 2 && b[0] == 0 && b[1] == 0;
}

// The offset just past the element at `offset` (walking indefinite-length children).
base::Result<std::uint64_t> element_end(const File& file, std::uint64_t offset, int depth = 0) {
    if (depth > 32) return malformed("nested too deeply");
    KEYFENCE_TRY_ASSIGN(h, read_header(file, offset));
    std::uint64_t pos = offset + h.header_size;
    if (!h.indefinite) return pos + h.length;
    while (!is_end_of_contents(file, pos)) {
        if (pos >= file.size()) return malformed("missing end-of-contents");
        KEYFENCE_TRY_ASSIGN(next, element_end(file, pos, depth + 1));
        pos = next;
    }
    return pos + 2;
}

// The children of the constructed element at `offset`, as offsets.
base::Result<std::vector<std::uint64_t>> children(const File& file, std::uint64_t offset) {
    KEYFENCE_TRY_ASSIGN(h, read_header(file, offset));
    if (!h.constructed()) return malformed("expected a constructed element");
    std::vector<std::uint64_t> out;
    std::uint64_t pos = offset + h.header_size;
    const std::uint64_t end = h.indefinite ? file.size() : pos + h.length;
    while (pos < end) {
        if (h.indefinite && is_end_of_contents(file, pos)) return out;
        if (out.size() > 64) return malformed("too many elements");
        out.push_back(pos);
        KEYFENCE_TRY_ASSIGN(next, element_end(file, pos));
        pos = next;
    }
    if (h.indefinite) return malformed("missing end-of-contents");
    return out;
}

base::Result<std::string> raw_element(const File& file, std::uint64_t offset) {
    KEYFENCE_TRY_ASSIGN(end, element_end(file, offset));
    if (end - offset > k_max_element) return malformed("an element is too large");
    std::string out(end - offset, '\0');
    if (file.read(offset, out.data(), out.size()) != static_cast<long>(out.size())) {
        return malformed("truncated");
    }
    return out;
}

// EncryptedContentInfo (RFC 5652 §6.1) without its content: contentType, algorithm.
base::Result<std::string> encrypted_content_info(const File& file, std::uint64_t offset,
                                                 EnvelopedSkeleton& skeleton) {
    KEYFENCE_TRY_ASSIGN(kids, children(file, offset));
    if (kids.size() < 2 || kids.size() > 3) return malformed("bad EncryptedContentInfo");
    KEYFENCE_TRY_ASSIGN(type, raw_element(file, kids[0]));
    KEYFENCE_TRY_ASSIGN(algorithm, raw_element(file, kids[1]));
    if (kids.size() == 3) {
        KEYFENCE_TRY_ASSIGN(h, read_header(file, kids[2]));
        if (h.tag != k_ctx0_prim && h.tag != k_ctx0_cons) return malformed("bad encryptedContent");
        skeleton.content_offset = kids[2];
        skeleton.has_content = true;
    }
    return der_element(k_sequence, type + algorithm);
}
}  // namespace

// X.690 §10.1: DER definite length.
std::string der_element(std::uint8_t tag, std::string_view content) {
    std::string out(1, static_cast<char>(tag));
    const std::uint64_t n = content.size();
    if (n < 0x80) {
        out.push_back(static_cast<char>(n));
    } else {
        std::string len;
        for (std::uint64_t v = n; v != 0; v >>= 8) len.insert(len.begin(), static_cast<char>(v));
        out.push_back(static_cast<char>(0x80 | len.size()));
        out += len;
    }
    out.append(content);
    return out;
}

base::Result<EnvelopedSkeleton> read_enveloped_skeleton(const std::string& path) {
    KEYFENCE_TRY_ASSIGN(file, File::open(path));
    EnvelopedSkeleton skeleton;
    KEYFENCE_TRY_ASSIGN(top, read_header(file, 0));
    if (top.tag != k_sequence) return malformed("not a ContentInfo");
    KEYFENCE_TRY_ASSIGN(info, children(file, 0));
    if (info.size() != 2) return malformed("bad ContentInfo");
    KEYFENCE_TRY_ASSIGN(content_type, raw_element(file, info[0]));
    KEYFENCE_TRY_ASSIGN(explicit0, children(file, info[1]));
    if (explicit0.size() != 1) return malformed("bad ContentInfo content");
    KEYFENCE_TRY_ASSIGN(envelope, read_header(file, explicit0[0]));
    if (envelope.tag != k_sequence) return malformed("the content is not a SEQUENCE");
    KEYFENCE_TRY_ASSIGN(fields, children(file, explicit0[0]));
    // version, [0] originatorInfo, SET recipientInfos, then the EncryptedContentInfo: the first
    // SEQUENCE after the SET (RFC 5652 §6.1, RFC 5083 §2.1); the rest (tag, attributes) follow.
    std::string body;
    bool seen_recipients = false, seen_content = false;
    for (auto offset : fields) {
        KEYFENCE_TRY_ASSIGN(h, read_header(file, offset));
        if (seen_recipients && !seen_content && h.tag == k_sequence) {
            KEYFENCE_TRY_ASSIGN(eci, encrypted_content_info(file, offset, skeleton));
            body += eci;
            seen_content = true;
            continue;
        }
        if (h.tag == k_set) seen_recipients = true;
        KEYFENCE_TRY_ASSIGN(raw, raw_element(file, offset));
        body += raw;
    }
    if (!seen_content) return malformed("no EncryptedContentInfo");
    skeleton.der = der_element(
        k_sequence, content_type + der_element(k_ctx0_cons, der_element(k_sequence, body)));
    return skeleton;
}

base::Result<CmsSkeleton> read_signed_skeleton(const std::string& path) {
    KEYFENCE_TRY_ASSIGN(file, File::open(path));
    CmsSkeleton skeleton;
    KEYFENCE_TRY_ASSIGN(top, read_header(file, 0));
    if (top.tag != k_sequence) return malformed("not a ContentInfo");
    KEYFENCE_TRY_ASSIGN(end, element_end(file, 0));
    // As d2i: nothing may follow the structure (docs/limits.md).
    if (end != file.size()) return malformed("bytes after the structure");
    KEYFENCE_TRY_ASSIGN(info, children(file, 0));
    if (info.size() != 2) return malformed("bad ContentInfo");
    KEYFENCE_TRY_ASSIGN(content_type, raw_element(file, info[0]));
    // RFC 5652 §5.1 id-signedData
    if (content_type != std::string("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 11)) {
        return malformed("not signed-data");
    }
    KEYFENCE_TRY_ASSIGN(explicit0, children(file, info[1]));
    if (explicit0.size() != 1) return malformed("bad ContentInfo content");
    KEYFENCE_TRY_ASSIGN(signed_data, read_header(file, explicit0[0]));
    if (signed_data.tag != k_sequence) return malformed("the content is not a SEQUENCE");
    KEYFENCE_TRY_ASSIGN(fields, children(file, explicit0[0]));
    // version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos
    if (fields.size() < 4) return malformed("bad SignedData");
    std::string body;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i != 2) {
            KEYFENCE_TRY_ASSIGN(raw, raw_element(file, fields[i]));
            body += raw;
            continue;
        }
        // EncapsulatedContentInfo: eContentType, then [0] EXPLICIT OCTET STRING (optional).
        KEYFENCE_TRY_ASSIGN(encap, children(file, fields[i]));
        if (encap.empty() || encap.size() > 2) return malformed("bad EncapsulatedContentInfo");
        KEYFENCE_TRY_ASSIGN(e_content_type, raw_element(file, encap[0]));
        if (encap.size() == 2) {
            KEYFENCE_TRY_ASSIGN(wrapper, read_header(file, encap[1]));
            KEYFENCE_TRY_ASSIGN(inner, children(file, encap[1]));
            if (wrapper.tag != k_ctx0_cons || inner.size() != 1) return malformed("bad eContent");
            KEYFENCE_TRY_ASSIGN(octets, read_header(file, inner[0]));
            if (octets.tag != k_octets && octets.tag != k_octets_cons) {
                return malformed("the eContent is not an OCTET STRING");
            }
            skeleton.content_offset = inner[0];
            skeleton.has_content = true;
        }
        body += der_element(k_sequence, e_content_type);
    }
    skeleton.der = der_element(
        k_sequence, content_type + der_element(k_ctx0_cons, der_element(k_sequence, body)));
    return skeleton;
}

namespace {
// Walks the encryptedContent element's segments in order (X.690 §8.7: a constructed OCTET
// STRING is a series of OCTET STRINGs, possibly nested).
struct CiphertextReader {
    File file;
    std::uint64_t pos = 0;          ///< next header, or within the current segment
    std::uint64_t segment_end = 0;  ///< end of the current primitive segment
    std::vector<std::optional<std::uint64_t>> frames;  ///< open constructed elements' ends
    bool done = false;
    std::function<void(std::string_view)> tee;

    // Positions `pos` on content bytes; false at the end; nullopt-like error through `ok`.
    bool advance(bool& ok) {
        while (pos >= segment_end) {
            if (frames.empty()) return false;
            auto& end = frames.back();
            if (end ? pos >= *end : is_end_of_contents(file, pos)) {
                if (!end) pos += 2;
                frames.pop_back();
                continue;
            }
            auto h = read_header(file, pos);
            if (!h || frames.size() > 8) return ok = false;
            if (h->tag == k_octets) {
                pos += h->header_size;
                segment_end = pos + h->length;
            } else if (h->tag == k_octets_cons) {
                pos += h->header_size;
                frames.push_back(h->indefinite ? std::nullopt
                                               : std::optional<std::uint64_t>(pos + h->length));
            } else {
                return ok = false;
            }
        }
        return true;
    }

    int read(char* out, int len) {
        const int n = read_segments(out, len);
        if (n > 0 && tee) tee(std::string_view(out, static_cast<std::size_t>(n)));
        return n;
    }

    int read_segments(char* out, int len) {
        if (done) return 0;
        bool ok = true;
        if (!advance(ok)) {
            done = true;
            return ok ? 0 : -1;
        }
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(len, segment_end - pos));
        const long got = file.read(pos, out, n);
        if (got != static_cast<long>(n)) return -1;
        pos += n;
        return static_cast<int>(got);
    }
};

}  // namespace

base::Result<base::BioPtr> ciphertext_bio(const std::string& path, std::uint64_t offset) {
    return content_bio(path, offset);
}

base::Result<base::BioPtr> content_bio(const std::string& path, std::uint64_t offset,
                                       std::function<void(std::string_view)> tee) {
    KEYFENCE_TRY_ASSIGN(file, File::open(path));
    KEYFENCE_TRY_ASSIGN(h, read_header(file, offset));
    auto reader = std::make_unique<CiphertextReader>(CiphertextReader{std::move(file)});
    reader->tee = std::move(tee);
    reader->pos = offset + h.header_size;
    if (h.constructed()) {
        reader->segment_end = reader->pos;
        reader->frames.push_back(
            h.indefinite ? std::nullopt : std::optional<std::uint64_t>(reader->pos + h.length));
    } else {
        reader->segment_end = reader->pos + h.length;
    }
    return source_bio(std::move(reader), "keyfence CMS content");
}

}  // namespace keyfence::mail::smime
