#pragma once
// A parsed RFC 5322 message (GMime): its outer headers, its body entity, and building the
// output message that keeps those headers around a new body.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mime/gmime.hpp"

namespace keyfence::mail::mime {

/// The outer headers a prompt and a verifier need, decoded (RFC 2047) to UTF-8.
struct MessageHeaders {
    std::string from;                         ///< as displayed: "Alice <alice@example.org>"
    std::vector<std::string> from_addresses;  ///< bare addresses, lower case
    std::string to;
    std::string cc;
    std::string subject;
    std::string date;  ///< the Date header as written
    std::string message_id;
};

class Message {
  public:
    /// Parses a whole message held in memory. Errors: BadInput when GMime finds no message
    /// (no header block) or no body.
    static base::Result<Message> parse(std::string_view bytes);

    /// Parses the message in the file at `path`, file-backed: GMime keeps each part's content
    /// as a range of the file (persist stream), so memory stays constant whatever the size.
    /// The file must stay unchanged while the message lives. Errors: Io (cannot open),
    /// BadInput as parse().
    static base::Result<Message> parse_file(const std::string& path);

    Message(Message&&) noexcept = default;
    Message& operator=(Message&&) noexcept = default;
    Message(const Message&) = delete;  // one owner of the GMime tree
    Message& operator=(const Message&) = delete;
    ~Message() = default;

    const MessageHeaders& headers() const noexcept { return m_headers; }
    /// The body entity (the message's top-level MIME part); owned by this message.
    GMimeObject* body() const noexcept { return g_mime_message_get_mime_part(m_message.get()); }
    GMimeMessage* get() const noexcept { return m_message.get(); }

    /// Replaces the body with `entity` and serialises the message with CRLF line ends; the outer
    /// headers (From, To, Cc, Subject, Date, Message-ID, ...) stay. The old body's Content-*
    /// headers go with it.
    std::string with_body(GMimeObject* entity);

    /// with_body() for a multipart/signed body whose first part was signed as `signed_content`:
    /// checks that GMime wrote that part byte for byte as signed, rather than trusting it.
    /// Errors: Internal (nothing is to be written), BadInput.
    base::Result<std::string> with_signed_body(GMimeObject* multipart_signed,
                                               std::string_view signed_content);

    /// As with_body(), but writes the message to `out` streaming (CRLF line ends). Returns
    /// false when a write failed.
    bool write_with_body(GMimeObject* entity, GMimeStream* out);

  private:
    explicit Message(GPtr<GMimeMessage> message);
    static base::Result<Message> parse_stream(GMimeStream* stream);
    GPtr<GMimeMessage> m_message;
    MessageHeaders m_headers;
};

/// Parses one MIME entity (headers and body), such as decrypted or signed content.
/// Errors: BadInput.
base::Result<GPtr<GMimeObject>> parse_entity(std::string_view bytes);

/// Parses one MIME entity from the file at `path`, file-backed like Message::parse_file.
/// Errors: Io, BadInput.
base::Result<GPtr<GMimeObject>> parse_entity_file(const std::string& path);

/// A base64 leaf part like base64_part(), whose content is read from `content` (a seekable
/// stream, e.g. file_stream()) when the part is written; nothing is held in memory.
GPtr<GMimeObject> base64_part_from_stream(const char* type, const char* subtype,
                                          GMimeStream* content, const char* filename);

/// A leaf part `type/subtype` holding `content`, base64 encoded, with `filename` as attachment
/// name (RFC 8551 §3.2.1 suggests smime.p7m / smime.p7s).
GPtr<GMimeObject> base64_part(const char* type, const char* subtype, std::string_view content,
                              const char* filename);

/// The decoded content of a leaf part (transfer encoding removed). Errors: BadInput when
/// `object` is not a leaf part.
base::Result<std::string> decoded_content(GMimeObject* object);

}  // namespace keyfence::mail::mime
