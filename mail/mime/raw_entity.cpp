#include "mail/mime/raw_entity.hpp"

#include <optional>

namespace keyfence::mail::mime {
namespace {

struct Line {
    std::size_t begin;  ///< first byte of the line
    std::size_t end;    ///< the line end (CR or LF), or the input's size
    std::size_t next;   ///< first byte of the next line
};

Line line_at(std::string_view s, std::size_t pos) {
    std::size_t lf = s.find('\n', pos);
    if (lf == std::string_view::npos) return {pos, s.size(), s.size()};
    std::size_t end = (lf > pos && s[lf - 1] == '\r') ? lf - 1 : lf;
    return {pos, end, lf + 1};
}

// RFC 2046 §5.1.1: "--" boundary, then optional linear whitespace (transport padding).
bool is_delimiter(std::string_view line, std::string_view boundary) {
    if (line.size() < boundary.size() + 2 || line.substr(0, 2) != "--" ||
        line.substr(2, boundary.size()) != boundary) {
        return false;
    }
    std::string_view rest = line.substr(2 + boundary.size());
    if (rest.substr(0, 2) == "--") rest.remove_prefix(2);  // the close delimiter
    return rest.find_first_not_of(" \t") == std::string_view::npos;
}

// The offset after the header block (the first empty line), or nullopt.
std::optional<std::size_t> body_start(std::string_view s) {
    for (std::size_t pos = 0; pos < s.size();) {
        Line l = line_at(s, pos);
        if (l.end == l.begin) return l.next;
        if (l.next == s.size()) break;
        pos = l.next;
    }
    return std::nullopt;
}
}  // namespace

std::string to_crlf(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 32);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) out.push_back('\r');
        out.push_back(bytes[i]);
    }
    return out;
}

base::Result<std::string> first_body_part(std::string_view entity, std::string_view boundary) {
    const base::Error malformed(base::ErrorCode::BadInput,
                                "the multipart/signed body does not have the delimiters its "
                                "boundary promises (RFC 2046 §5.1.1)");
    auto start = body_start(entity);
    if (!start || boundary.empty()) return malformed;
    std::optional<std::size_t> content_begin;
    for (std::size_t pos = *start; pos < entity.size();) {
        Line l = line_at(entity, pos);
        if (is_delimiter(entity.substr(l.begin, l.end - l.begin), boundary)) {
            if (!content_begin) {
                content_begin = l.next;
            } else {
                // The line end before this delimiter belongs to the delimiter.
                std::size_t end = l.begin;
                if (end > *content_begin && entity[end - 1] == '\n') --end;
                if (end > *content_begin && entity[end - 1] == '\r') --end;
                if (end < *content_begin) end = *content_begin;
                return to_crlf(entity.substr(*content_begin, end - *content_begin));
            }
        }
        if (l.next >= entity.size()) break;
        pos = l.next;
    }
    return malformed;
}

}  // namespace keyfence::mail::mime
