#include "mail/smime/envelope_head.hpp"

#include "base/openssl_error.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/cms_limits.hpp"
#include "mail/smime/decrypt.hpp"
#include "mail/smime/stream_der.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

constexpr std::uint8_t k_sequence = 0x30, k_set = 0x31, k_ctx0_cons = 0xa0, k_oid = 0x06,
                       k_integer = 0x02;
// RFC 5652 §6.1 id-envelopedData, RFC 5083 §1.1 id-ct-authEnvelopedData (DER OIDs).
const std::string k_enveloped("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03", 11);
const std::string k_auth_enveloped("\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17", 13);

base::Error malformed(const std::string& what) {
    return base::Error(ErrorCode::BadInput,
                       "the S/MIME part is not a valid CMS structure (RFC 5652): " + what);
}

// X.690 §8.1 over the bytes decoded so far; nullopt wherever they end too early.
struct Header {
    std::uint8_t tag = 0;
    bool indefinite = false;
    std::uint64_t length = 0;  ///< the ContentInfo's may be that of the whole message
    std::size_t header_size = 0;
};
template <class T>
using Partial = base::Result<std::optional<T>>;

class Prefix {
  public:
    explicit Prefix(std::string_view bytes) : m_bytes(bytes) {}

    Partial<Header> header(std::size_t pos) const {
        if (pos + 2 > m_bytes.size()) return std::optional<Header>();
        const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(m_bytes[i]); };
        Header h;
        h.tag = byte(pos);
        if ((h.tag & 0x1f) == 0x1f) return malformed("unexpected high tag number");
        const std::uint8_t first = byte(pos + 1);
        if (first < 0x80) {
            h.length = first;
            h.header_size = 2;
        } else if (first == 0x80) {
            if ((h.tag & 0x20) == 0) return malformed("indefinite length on a primitive element");
            h.indefinite = true;
            h.header_size = 2;
        } else {
            const unsigned count = first & 0x7f;
            if (count > 8) return malformed("bad length");
            if (pos + 2 + count > m_bytes.size()) return std::optional<Header>();
            std::uint64_t length = 0;
            for (unsigned i = 0; i < count; ++i) length = (length << 8) | byte(pos + 2 + i);
            h.length = length;
            h.header_size = 2 + count;
        }
        return std::optional<Header>(h);
    }

    /// The offset just past the element at `pos`, once all of it has been decoded.
    Partial<std::size_t> end(std::size_t pos, int depth = 0) const {
        if (depth > 32) return malformed("nested too deeply");
        KEYFENCE_TRY_ASSIGN(h, header(pos));
        if (!h) return std::optional<std::size_t>();
        std::size_t at = pos + h->header_size;
        if (!h->indefinite) {
            if (h->length > m_bytes.size() - at) return std::optional<std::size_t>();
            return std::optional<std::size_t>(at + static_cast<std::size_t>(h->length));
        }
        for (;;) {
            if (at + 2 > m_bytes.size()) return std::optional<std::size_t>();
            if (m_bytes[at] == 0 && m_bytes[at + 1] == 0) return std::optional<std::size_t>(at + 2);
            KEYFENCE_TRY_ASSIGN(next, end(at, depth + 1));
            if (!next) return std::optional<std::size_t>();
            at = *next;
        }
    }

    /// The element at `pos` with tag `tag`, whole.
    Partial<std::string_view> element(std::size_t pos, std::uint8_t tag, const char* what) const {
        KEYFENCE_TRY_ASSIGN(h, header(pos));
        if (!h) return std::optional<std::string_view>();
        if (h->tag != tag) return malformed(std::string("expected ") + what);
        // Everything before the content is small: a longer element is refused now rather than
        // read up to the bound. (The elements around it may be as long as the message.)
        if (h->length > k_max_envelope_head) return malformed("an element is too large");
        KEYFENCE_TRY_ASSIGN(e, end(pos));
        if (!e) return std::optional<std::string_view>();
        return std::optional<std::string_view>(m_bytes.substr(pos, *e - pos));
    }

  private:
    std::string_view m_bytes;
};
}  // namespace

// Reads, in order: ContentInfo SEQUENCE, contentType, [0] EXPLICIT, the (Auth)EnvelopedData
// SEQUENCE, version, [0] originatorInfo (optional), recipientInfos SET, and of the
// EncryptedContentInfo its contentType and contentEncryptionAlgorithm (RFC 5652 §6.1,
// RFC 5083 §2.1). The encryptedContent and what follows it are never needed.
base::Result<std::optional<std::string>> envelope_head_skeleton(std::string_view prefix) {
    const Prefix in(prefix);
    using Out = std::optional<std::string>;
#define KEYFENCE_NEED(var, expr)    \
    KEYFENCE_TRY_ASSIGN(var, expr); \
    if (!var) return Out();
    KEYFENCE_NEED(info, in.header(0));
    if (info->tag != k_sequence) return malformed("not a ContentInfo");
    std::size_t pos = info->header_size;
    KEYFENCE_NEED(type, in.element(pos, k_oid, "a content type"));
    const bool auth = *type == k_auth_enveloped;
    if (!auth && *type != k_enveloped) {
        return base::Error(ErrorCode::BadInput, "the S/MIME part is not encrypted");
    }
    pos += type->size();
    KEYFENCE_NEED(explicit0, in.header(pos));
    if (explicit0->tag != k_ctx0_cons) return malformed("bad ContentInfo content");
    pos += explicit0->header_size;
    KEYFENCE_NEED(envelope, in.header(pos));
    if (envelope->tag != k_sequence) return malformed("the content is not a SEQUENCE");
    pos += envelope->header_size;
    KEYFENCE_NEED(version, in.element(pos, k_integer, "a version"));
    pos += version->size();
    std::string body(*version);
    KEYFENCE_NEED(next, in.header(pos));
    if (next->tag == k_ctx0_cons) {
        KEYFENCE_NEED(originator, in.element(pos, k_ctx0_cons, "originatorInfo"));
        body += *originator;
        pos += originator->size();
    }
    KEYFENCE_NEED(recipients, in.element(pos, k_set, "the RecipientInfos"));
    body += *recipients;
    pos += recipients->size();
    KEYFENCE_NEED(eci, in.header(pos));
    if (eci->tag != k_sequence) return malformed("bad EncryptedContentInfo");
    pos += eci->header_size;
    KEYFENCE_NEED(content_type, in.element(pos, k_oid, "a content type"));
    pos += content_type->size();
    KEYFENCE_NEED(algorithm, in.element(pos, k_sequence, "a content encryption algorithm"));
#undef KEYFENCE_NEED
    body += der_element(k_sequence, std::string(*content_type) + std::string(*algorithm));
    // AuthEnvelopedData's mac is not optional in the ASN.1 (RFC 5083 §2.1): an empty one stands
    // in, which nothing reads.
    if (auth) body += std::string("\x04\x00", 2);
    return Out(der_element(
        k_sequence, std::string(*type) + der_element(k_ctx0_cons, der_element(k_sequence, body))));
}

base::Result<std::vector<std::size_t>> recipients_among(GMimeObject* part,
                                                        const std::vector<X509*>& candidates) {
    KEYFENCE_TRY(check_encrypted_body(part));
    GMimeDataWrapper* wrapper =
        GMIME_IS_PART(part) ? g_mime_part_get_content(GMIME_PART(part)) : nullptr;
    if (wrapper == nullptr) return base::Error(ErrorCode::BadInput, "the S/MIME part is empty");
    // Decoded until the head is complete; the sink's refusal then stops GMime's decoding.
    std::string head;
    std::size_t next_try = 4096;
    std::optional<std::string> skeleton;
    base::Status failure;
    const auto attempt = [&]() -> bool {
        auto found = envelope_head_skeleton(head);
        if (!found) {
            failure = std::move(found).error();
            return false;
        }
        if (*found) skeleton = std::move(**found);
        return !skeleton.has_value();
    };
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        head.append(bytes);
        if (head.size() < next_try) return true;
        next_try = head.size() * 2;
        if (!attempt()) return false;
        if (head.size() > k_max_envelope_head) {
            failure = base::Error(ErrorCode::BadInput,
                                  "the S/MIME part's RecipientInfos exceed " +
                                      std::to_string(k_max_envelope_head >> 20) + " MiB");
            return false;
        }
        return true;
    });
    const bool written = g_mime_data_wrapper_write_to_stream(wrapper, sink.get()) >= 0;
    if (!failure) return std::move(failure).error();
    if (!skeleton) {
        if (!written) {
            return base::Error(ErrorCode::BadInput,
                               "the part's transfer encoding cannot be decoded");
        }
        attempt();  // the whole part, shorter than the next try's size
        if (!failure) return std::move(failure).error();
        if (!skeleton) return malformed("truncated");
    }
    KEYFENCE_TRY_ASSIGN(cms, cms_from_der(*skeleton));
    KEYFENCE_TRY(check_cms_limits(cms.get()));  // docs/limits.md: RecipientInfos
    std::vector<std::size_t> named;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (encrypted_to(cms.get(), candidates[i])) named.push_back(i);
    }
    return named;
}

}  // namespace keyfence::mail::smime
