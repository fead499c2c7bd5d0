#pragma once
// The first body part of a multipart entity, cut from its bytes as they stream past: the
// streaming twin of mime::first_body_part() (mail/mime/raw_entity.hpp), for messages too large
// to hold. Fed the entity (header block and body) in pieces of any size, it hands on the bytes
// after the first delimiter line up to the line end before the next delimiter (RFC 2046
// §5.1.1), with bare LF line ends made CRLF (RFC 8551 §3.1.1). Memory: one line, at most
// 64 KiB, whatever the input.

#include <functional>
#include <string>
#include <string_view>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "mail/mime/canonical.hpp"

namespace keyfence::mail::smime {

class FirstPartScanner {
  public:
    using Sink = std::function<void(std::string_view)>;
    FirstPartScanner(std::string boundary, Sink content);

    void feed(std::string_view bytes);
    /// Call after the last byte. Errors: BadInput when the delimiters were not there.
    base::Status finish();

  private:
    enum class State { Headers, Preamble, Content, Done };
    std::size_t content_run(std::string_view bytes);
    void end_line();
    void spill_long_line();
    bool is_delimiter(std::string_view line) const;
    bool may_become_delimiter(std::string_view partial) const;

    std::string m_boundary;
    Sink m_content;
    State m_state = State::Headers;
    std::string m_line;
    mime::CrlfConverter m_crlf;
    bool m_pending_crlf = false;  ///< the previous content line's end, not yet known to be content
    bool m_continued = false;     ///< m_line continues a line already (partly) handed on
};

/// A source BIO yielding the first body part of the multipart entity that fills the file at
/// `path` (from `offset` on), read in 1 MiB pieces through a FirstPartScanner: CMS_verify reads
/// a detached signature's content from it. Every byte it yields is also handed to `tee` (when
/// set). Reading fails (-1) when the file cannot be read or the delimiters are missing.
/// Errors: Io.
base::Result<base::BioPtr> first_part_bio(const std::string& path, std::string boundary,
                                          FirstPartScanner::Sink tee = {});

}  // namespace keyfence::mail::smime
