#include "mail/smime/stream_first_part.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "mail/smime/stream_io.hpp"

namespace keyfence::mail::smime {
namespace {
constexpr std::size_t k_max_line = 64 * 1024;
}

FirstPartScanner::FirstPartScanner(std::string boundary, Sink content)
    : m_boundary(std::move(boundary)), m_content(std::move(content)) {}

// RFC 2046 §5.1.1: "--" boundary, then optional linear whitespace (transport padding); the
// close delimiter adds "--".
bool FirstPartScanner::is_delimiter(std::string_view line) const {
    if (line.size() < m_boundary.size() + 2 || line.substr(0, 2) != "--" ||
        line.substr(2, m_boundary.size()) != m_boundary) {
        return false;
    }
    std::string_view rest = line.substr(2 + m_boundary.size());
    if (rest.substr(0, 2) == "--") rest.remove_prefix(2);
    return rest.find_first_not_of(" \t") == std::string_view::npos;
}

bool FirstPartScanner::may_become_delimiter(std::string_view partial) const {
    const std::string prefix = "--" + m_boundary;
    if (partial.size() <= prefix.size()) return prefix.substr(0, partial.size()) == partial;
    return is_delimiter(partial);
}

// Content lines that cannot be a delimiter (they do not start with '-'), handed on as one run:
// a base64 attachment is millions of lines, and this is the whole of the work for them.
std::size_t FirstPartScanner::content_run(std::string_view bytes) {
    std::size_t end = 0;  // just past the run's last LF
    while (end < bytes.size() && bytes[end] != '-') {
        const void* lf = std::memchr(bytes.data() + end, '\n', bytes.size() - end);
        if (lf == nullptr) break;
        end = static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data()) + 1;
    }
    if (end == 0) return 0;
    // The lines without their last line end, which belongs to a delimiter if one follows.
    std::string_view lines = bytes.substr(0, end - 1);
    if (!lines.empty() && lines.back() == '\r') lines.remove_suffix(1);
    if (m_pending_crlf) m_content("\r\n");
    m_crlf.reset();  // the run starts at a line start
    if (!lines.empty()) m_content(m_crlf.convert(lines));
    m_pending_crlf = true;
    return end;
}

void FirstPartScanner::feed(std::string_view bytes) {
    while (!bytes.empty() && m_state != State::Done) {
        if (m_state == State::Content && m_line.empty() && !m_continued) {
            const std::size_t run = content_run(bytes);
            bytes.remove_prefix(run);
            if (run != 0) continue;
        }
        const std::size_t lf = bytes.find('\n');
        if (lf == std::string_view::npos) {
            m_line.append(bytes);
            if (m_line.size() > k_max_line) spill_long_line();
            return;
        }
        m_line.append(bytes.substr(0, lf));
        bytes.remove_prefix(lf + 1);
        end_line();
    }
}

// A line longer than any delimiter can be: hand on what is known to be content, keep a CR
// that may turn out to precede the LF.
void FirstPartScanner::spill_long_line() {
    if (!m_continued && may_become_delimiter(m_line)) {
        if (m_line.size() > 16 * k_max_line) m_line.resize(k_max_line);  // padding abuse
        return;
    }
    const bool trailing_cr = m_line.back() == '\r';
    if (trailing_cr) m_line.pop_back();
    if (m_state == State::Content) {
        if (m_pending_crlf) m_content("\r\n");
        m_pending_crlf = false;
        m_content(m_line);
    }
    m_line = trailing_cr ? "\r" : "";
    m_continued = true;
}

void FirstPartScanner::end_line() {
    if (!m_line.empty() && m_line.back() == '\r') m_line.pop_back();
    const bool continued = m_continued;
    m_continued = false;
    switch (m_state) {
        case State::Headers:
            if (m_line.empty() && !continued) m_state = State::Preamble;
            break;
        case State::Preamble:
            if (!continued && is_delimiter(m_line)) m_state = State::Content;
            break;
        case State::Content:
            if (!continued && is_delimiter(m_line)) {
                m_state = State::Done;  // the line end before it belongs to the delimiter
                break;
            }
            if (m_pending_crlf) m_content("\r\n");
            m_content(m_line);
            m_pending_crlf = true;
            break;
        case State::Done:
            break;
    }
    m_line.clear();
}

base::Status FirstPartScanner::finish() {
    if (m_state == State::Done) return {};
    return base::Error(base::ErrorCode::BadInput,
                       "the multipart/signed body does not have the delimiters its boundary "
                       "promises (RFC 2046 §5.1.1)");
}

namespace {
// The state behind first_part_bio(): the file, the scanner and what it produced but the BIO's
// reader has not taken yet.
struct PartSource {
    int fd = -1;
    std::string pending;
    std::size_t taken = 0;
    FirstPartScanner::Sink tee;
    std::unique_ptr<FirstPartScanner> scanner;
    bool eof = false;
    bool failed = false;
    std::vector<char> buffer = std::vector<char>(1 << 20);

    ~PartSource() {
        if (fd >= 0) ::close(fd);
    }
    // Reads the next piece of the file through the scanner; false at the end or on failure.
    bool refill() {
        pending.clear();
        taken = 0;
        while (pending.empty() && !eof) {
            const ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return !(failed = true);
            if (n == 0) {
                eof = true;
                if (!scanner->finish()) failed = true;
                break;
            }
            scanner->feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        }
        return !pending.empty();
    }

    int read(char* out, int len) {
        if (taken == pending.size() && !refill()) return failed ? -1 : 0;
        const std::size_t n = std::min(static_cast<std::size_t>(len), pending.size() - taken);
        std::memcpy(out, pending.data() + taken, n);
        taken += n;
        return static_cast<int>(n);
    }
};

}  // namespace

base::Result<base::BioPtr> first_part_bio(const std::string& path, std::string boundary,
                                          FirstPartScanner::Sink tee) {
    auto src = std::make_unique<PartSource>();
    src->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (src->fd < 0) {
        return base::Error(base::ErrorCode::Io,
                           "cannot read " + path + ": " + std::strerror(errno));
    }
    src->tee = std::move(tee);
    PartSource* raw = src.get();
    src->scanner =
        std::make_unique<FirstPartScanner>(std::move(boundary), [raw](std::string_view b) {
            raw->pending.append(b);
            if (raw->tee) raw->tee(b);
        });
    return source_bio(std::move(src), "keyfence multipart first part");
}

}  // namespace keyfence::mail::smime
