#include "mail/mime/limits.hpp"

#include <algorithm>
#include <cstring>

#include <string>
#include <vector>

namespace keyfence::mail::mime {
namespace {

base::Error exceeded(const std::string& what, std::size_t value, std::size_t limit) {
    return base::Error(base::ErrorCode::BadInput,
                       "the message exceeds Keyfence's limit on " + what + " (" +
                           std::to_string(value) + ", at most " + std::to_string(limit) + ")",
                       "see docs/limits.md; such a message is refused rather than processed");
}

base::Status check_headers(GMimeObject* object, const MimeLimits& limits) {
    GMimeHeaderList* headers = g_mime_object_get_header_list(object);
    if (headers == nullptr) return {};
    const int count = g_mime_header_list_get_count(headers);
    if (count > limits.max_header_fields) {
        return exceeded("header fields in one header block", static_cast<std::size_t>(count),
                        static_cast<std::size_t>(limits.max_header_fields));
    }
    std::size_t bytes = 0;
    for (int i = 0; i < count; ++i) {
        GMimeHeader* header = g_mime_header_list_get_header_at(headers, i);
        const char* name = g_mime_header_get_name(header);
        const char* raw = g_mime_header_get_raw_value(header);
        bytes += (name != nullptr ? std::string_view(name).size() : 0) +
                 (raw != nullptr ? std::string_view(raw).size() : 0) + 2;
    }
    if (bytes > limits.max_header_bytes) {
        return exceeded("the size of one header block in bytes", bytes, limits.max_header_bytes);
    }
    return {};
}

class TreeCheck {
  public:
    explicit TreeCheck(const MimeLimits& limits) : m_limits(limits) {}

    // Recursion is bounded by max_depth: deeper trees are refused before they are descended.
    base::Status visit(GMimeObject* object, int depth) {
        if (object == nullptr) return {};
        if (depth > m_limits.max_depth) {
            return exceeded("MIME nesting depth", static_cast<std::size_t>(depth),
                            static_cast<std::size_t>(m_limits.max_depth));
        }
        if (++m_parts > m_limits.max_parts) {
            return exceeded("the number of MIME parts", static_cast<std::size_t>(m_parts),
                            static_cast<std::size_t>(m_limits.max_parts));
        }
        KEYFENCE_TRY(check_headers(object, m_limits));
        if (GMIME_IS_MULTIPART(object)) {
            auto* multipart = GMIME_MULTIPART(object);
            for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
                KEYFENCE_TRY(visit(g_mime_multipart_get_part(multipart, i), depth + 1));
            }
        } else if (GMIME_IS_MESSAGE_PART(object)) {
            GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
            if (inner != nullptr) {
                KEYFENCE_TRY(check_headers(GMIME_OBJECT(inner), m_limits));
                KEYFENCE_TRY(visit(g_mime_message_get_mime_part(inner), depth + 1));
            }
        }
        return {};
    }

  private:
    const MimeLimits& m_limits;
    int m_parts = 0;
};

}  // namespace

base::Status check_raw_limits(std::string_view bytes, const MimeLimits& limits) {
    if (bytes.size() > limits.max_message_bytes) {
        return exceeded("the message size in bytes", bytes.size(), limits.max_message_bytes);
    }
    std::size_t start = 0;
    while (start < bytes.size()) {
        std::size_t lf = bytes.find('\n', start);
        const std::size_t end = lf == std::string_view::npos ? bytes.size() : lf;
        if (end - start > limits.max_line_bytes) {
            return exceeded("the length of one line in bytes", end - start, limits.max_line_bytes);
        }
        if (lf == std::string_view::npos) break;
        start = lf + 1;
    }
    return {};
}

base::Status check_stream_line_limits(GMimeStream* stream, const MimeLimits& limits) {
    if (g_mime_stream_reset(stream) != 0) {
        return base::Error(base::ErrorCode::Io, "the message cannot be read from its start");
    }
    // 1 MiB blocks; within a block, memrchr() over the bytes a line may still take finds the
    // last line end there at once, so the pass costs about one call per block, not one per
    // line: every line that ends in that window is shorter than the window.
    std::vector<char> block(1 << 20);
    std::size_t line = 0;  // bytes of the current line so far
    for (;;) {
        const gssize got = g_mime_stream_read(stream, block.data(), block.size());
        if (got < 0) return base::Error(base::ErrorCode::Io, "the message cannot be read");
        if (got == 0) break;
        const char* at = block.data();
        const char* end = at + got;
        while (at < end) {
            const std::size_t budget = limits.max_line_bytes - line;  // before an LF is due
            const char* window = at + std::min<std::size_t>(end - at, budget + 1);
            const auto* lf = static_cast<const char*>(::memrchr(at, '\n', window - at));
            line = lf != nullptr ? static_cast<std::size_t>(window - lf - 1)
                                 : line + static_cast<std::size_t>(window - at);
            if (line > limits.max_line_bytes) {
                return exceeded("the length of one line in bytes", limits.max_line_bytes + 1,
                                limits.max_line_bytes);
            }
            at = window;
        }
    }
    if (g_mime_stream_reset(stream) != 0) {
        return base::Error(base::ErrorCode::Io, "the message cannot be read from its start");
    }
    return {};
}

base::Status check_tree_limits(GMimeObject* root, const MimeLimits& limits) {
    if (root == nullptr) return {};
    TreeCheck check(limits);
    if (GMIME_IS_MESSAGE(root)) {
        KEYFENCE_TRY(check_headers(root, limits));
        return check.visit(g_mime_message_get_mime_part(GMIME_MESSAGE(root)), 1);
    }
    return check.visit(root, 1);
}

}  // namespace keyfence::mail::mime
