#include "mail/pgp/plaintext_stream.hpp"

#include <cstring>

#include "mail/mime/limits.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// The end of the header block in `head`: the offset just past its empty line, or npos.
std::size_t header_block_end(std::string_view head) {
    if (head.starts_with("\r\n")) return 2;
    if (head.starts_with("\n")) return 1;
    const std::size_t crlf = head.find("\n\r\n");
    const std::size_t lf = head.find("\n\n");
    const std::size_t end = std::min(crlf == std::string_view::npos ? crlf : crlf + 3,
                                     lf == std::string_view::npos ? lf : lf + 2);
    return end;
}
}  // namespace

PlaintextStream::PlaintextStream(Output out, Decide decide)
    : m_out(std::move(out)), m_decide(std::move(decide)), m_writer(m_out) {}

bool PlaintextStream::fail(base::Error error) {
    if (m_status) m_status = std::move(error);
    return false;
}

bool PlaintextStream::write(std::string_view bytes) {
    if (!m_status) return false;
    switch (m_mode) {
        case Mode::Head:
            m_head.append(bytes);
            if (header_block_end(m_head) == std::string::npos && m_head.size() < k_max_head) {
                return true;
            }
            return choose();
        case Mode::Direct:
            return direct(bytes);
        case Mode::Spool: {
            auto written = smime::write_fd(m_spool->fd(), bytes);
            return written ? true : fail(written.error());
        }
    }
    return false;
}

bool PlaintextStream::choose() {
    const std::size_t end = header_block_end(m_head);
    std::optional<std::string> prefix;
    if (end != std::string::npos) prefix = m_decide(std::string_view(m_head).substr(0, end));
    std::string head = std::move(m_head);
    m_head.clear();
    if (prefix) {
        m_mode = Mode::Direct;
        if (!m_writer.write(*prefix)) return fail(m_writer.status().error());
        return direct(head);
    }
    m_mode = Mode::Spool;
    auto spool = smime::TempFile::create();
    if (!spool) return fail(spool.error());
    m_spool.emplace(std::move(*spool));
    auto written = smime::write_fd(m_spool->fd(), head);
    return written ? true : fail(written.error());
}

bool PlaintextStream::direct(std::string_view bytes) {
    // docs/limits.md: as check_stream_line_limits() would count the spooled file.
    const std::size_t max = mime::k_mime_limits.max_line_bytes;
    const char* at = bytes.data();
    const char* end = at + bytes.size();
    while (at < end) {
        const std::size_t budget = max - m_line;  // before an LF is due
        const char* window = at + std::min<std::size_t>(end - at, budget + 1);
        const auto* lf = static_cast<const char*>(::memrchr(at, '\n', window - at));
        m_line = lf != nullptr ? static_cast<std::size_t>(window - lf - 1)
                               : m_line + static_cast<std::size_t>(window - at);
        if (m_line > max) {
            return fail(base::Error(ErrorCode::BadInput,
                                    "the message exceeds Keyfence's limit on the length of one "
                                    "line in bytes (" +
                                        std::to_string(max + 1) + ", at most " +
                                        std::to_string(max) + ")",
                                    "see docs/limits.md; such a message is refused rather than "
                                    "processed"));
        }
        at = window;
    }
    if (!m_writer.write(m_crlf.convert(bytes))) return fail(m_writer.status().error());
    return true;
}

base::Status PlaintextStream::finish() {
    if (m_status && m_mode == Mode::Head) choose();
    KEYFENCE_TRY(m_status);
    if (m_mode == Mode::Direct) return m_writer.flush();
    return {};
}

}  // namespace keyfence::mail::pgp
