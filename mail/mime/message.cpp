#include "mail/mime/message.hpp"

#include "mail/mime/limits.hpp"
#include "mail/mime/raw_entity.hpp"
#include "mail/mime/read_ahead_stream.hpp"

#include <algorithm>
#include <cctype>

namespace keyfence::mail::mime {
namespace {
using base::ErrorCode;

std::string to_lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string list_text(InternetAddressList* list) {
    if (list == nullptr || internet_address_list_length(list) == 0) return {};
    char* text = internet_address_list_to_string(list, nullptr, FALSE);
    std::string s = text != nullptr ? text : "";
    g_free(text);
    return s;
}

void collect_addresses(InternetAddressList* list, std::vector<std::string>& out) {
    if (list == nullptr) return;
    for (int i = 0; i < internet_address_list_length(list); ++i) {
        InternetAddress* a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
            if (addr != nullptr && *addr != '\0') out.push_back(to_lower(addr));
        } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
            collect_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out);
        }
    }
}

std::string header_or_empty(GMimeMessage* message, const char* name) {
    const char* v = g_mime_object_get_header(GMIME_OBJECT(message), name);
    return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

Message::Message(GPtr<GMimeMessage> message) : m_message(std::move(message)) {
    GMimeMessage* m = m_message.get();
    m_headers.from = list_text(g_mime_message_get_from(m));
    collect_addresses(g_mime_message_get_from(m), m_headers.from_addresses);
    m_headers.to = list_text(g_mime_message_get_to(m));
    m_headers.cc = list_text(g_mime_message_get_cc(m));
    const char* subject = g_mime_message_get_subject(m);
    m_headers.subject = subject != nullptr ? subject : "";
    m_headers.date = header_or_empty(m, "Date");
    m_headers.message_id = header_or_empty(m, "Message-ID");
}

base::Result<Message> Message::parse(std::string_view bytes) {
    KEYFENCE_TRY(check_raw_limits(bytes));  // docs/limits.md
    return parse_stream(memory_stream(bytes).get());
}

base::Result<Message> Message::parse_file(const std::string& path) {
    auto stream = file_stream(path, MimeLimits{}.max_line_bytes);
    if (!stream) return base::Error(ErrorCode::Io, "cannot read " + path);
    // A file is parsed in place, so its size is not held in memory; the line and tree limits
    // still bound the work (docs/limits.md, "Files"). The line limit is checked on each block
    // before the parser sees it (read_ahead_stream.hpp): one pass over the file, not two. A
    // line over the limit, or bytes the parser did not read, are checked by the separate pass,
    // which reports the line limit first, as before.
    auto parsed = parse_stream(stream.get());
    if (!read_ahead_stream_checked_all(stream.get())) {
        auto again = file_stream(path);  // `stream` fails every read after a long line
        if (!again) return base::Error(ErrorCode::Io, "cannot read " + path);
        KEYFENCE_TRY(check_stream_line_limits(again.get()));
    }
    return parsed;
}

base::Result<Message> Message::parse_stream(GMimeStream* stream) {
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream));
    // Parts keep their content as ranges of the (seekable) stream instead of copies.
    g_mime_parser_set_persist_stream(parser.get(), TRUE);
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!message || g_mime_message_get_mime_part(message.get()) == nullptr) {
        return base::Error(ErrorCode::BadInput, "the input is not a MIME message (RFC 5322)",
                           "give a whole message with its header block, e.g. an .eml file");
    }
    KEYFENCE_TRY(check_tree_limits(GMIME_OBJECT(message.get())));
    return Message(std::move(message));
}

std::string Message::with_body(GMimeObject* entity) {
    g_mime_message_set_mime_part(m_message.get(), entity);
    return canonical_bytes(GMIME_OBJECT(m_message.get()));
}

base::Result<std::string> Message::with_signed_body(GMimeObject* multipart_signed,
                                                    std::string_view signed_content) {
    const std::string boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(multipart_signed));
    std::string out = with_body(multipart_signed);
    KEYFENCE_TRY_ASSIGN(written, first_body_part(out, boundary));
    if (written != signed_content) {
        return base::Error(ErrorCode::Internal,
                           "GMime did not write the signed part as it was signed; nothing was "
                           "written");
    }
    return out;
}

bool Message::write_with_body(GMimeObject* entity, GMimeStream* out) {
    g_mime_message_set_mime_part(m_message.get(), entity);
    return write_canonical(GMIME_OBJECT(m_message.get()), out);
}

namespace {
base::Result<GPtr<GMimeObject>> parse_entity_stream(GMimeStream* stream) {
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream));
    g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
    g_mime_parser_set_persist_stream(parser.get(), TRUE);
    GPtr<GMimeObject> entity(g_mime_parser_construct_part(parser.get(), nullptr));
    if (!entity) return base::Error(ErrorCode::BadInput, "the content is not a MIME entity");
    KEYFENCE_TRY(check_tree_limits(entity.get()));
    return entity;
}
}  // namespace

base::Result<GPtr<GMimeObject>> parse_entity(std::string_view bytes) {
    KEYFENCE_TRY(check_raw_limits(bytes));
    return parse_entity_stream(memory_stream(bytes).get());
}

base::Result<GPtr<GMimeObject>> parse_entity_file(const std::string& path) {
    auto stream = file_stream(path);
    if (!stream) return base::Error(ErrorCode::Io, "cannot read " + path);
    KEYFENCE_TRY(check_stream_line_limits(stream.get()));
    return parse_entity_stream(stream.get());
}

GPtr<GMimeObject> base64_part(const char* type, const char* subtype, std::string_view content,
                              const char* filename) {
    return base64_part_from_stream(type, subtype, memory_stream(content).get(), filename);
}

GPtr<GMimeObject> base64_part_from_stream(const char* type, const char* subtype,
                                          GMimeStream* content, const char* filename) {
    ensure_gmime();
    GPtr<GMimePart> part(g_mime_part_new_with_type(type, subtype));
    GPtr<GMimeDataWrapper> wrapper(
        g_mime_data_wrapper_new_with_stream(content, GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part.get(), wrapper.get());
    g_mime_part_set_content_encoding(part.get(), GMIME_CONTENT_ENCODING_BASE64);
    g_mime_part_set_filename(part.get(), filename);
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part.get()), "name", filename);
    return GPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

base::Result<std::string> decoded_content(GMimeObject* object) {
    if (object == nullptr || !GMIME_IS_PART(object)) {
        return base::Error(ErrorCode::BadInput, "expected a leaf MIME part");
    }
    GMimeDataWrapper* wrapper = g_mime_part_get_content(GMIME_PART(object));
    if (wrapper == nullptr) return std::string();
    GPtr<GMimeStream> out(g_mime_stream_mem_new());
    if (g_mime_data_wrapper_write_to_stream(wrapper, out.get()) < 0) {
        return base::Error(ErrorCode::BadInput, "the part's transfer encoding cannot be decoded");
    }
    return stream_bytes(out.get());
}

}  // namespace keyfence::mail::mime
