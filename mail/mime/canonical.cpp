#include "mail/mime/canonical.hpp"

#include <openssl/rand.h>

#include <cstring>
#include <vector>

#include "mail/mime/gmime.hpp"

namespace keyfence::mail::mime {

std::string_view CrlfConverter::convert(std::string_view bytes) {
    if (bytes.empty()) return bytes;
    const char* data = bytes.data();
    const std::size_t size = bytes.size();
    bool copied = false;
    std::size_t from = 0;
    for (std::size_t at = 0; at < size; ++at) {
        const void* lf = std::memchr(data + at, '\n', size - at);
        if (lf == nullptr) break;
        at = static_cast<std::size_t>(static_cast<const char*>(lf) - data);
        if (at > 0 ? data[at - 1] == '\r' : m_last == '\r') continue;
        if (!copied) {
            m_out.clear();
            m_out.reserve(size + size / 16 + 16);  // one CR per line of 16 bytes or more
            copied = true;
        }
        m_out.append(data + from, at - from).push_back('\r');
        from = at;
    }
    m_last = data[size - 1];
    if (!copied) return bytes;
    m_out.append(data + from, size - from);
    return m_out;
}

namespace {
// Leaf parts at least this large are copied by Keyfence rather than by GMime, whose write
// path moves content in 4 KiB pieces through a byte-at-a-time newline filter.
constexpr gint64 k_raw_threshold = 64 * 1024;
constexpr std::size_t k_raw_block = 1 << 20;

// A leaf part whose content GMime would write as it is stored (already in its transfer
// encoding: GMime 3.2.13 write_content(), "content is already encoded"). Its content is
// swapped for a one-line marker while GMime writes the tree; when the marker comes by, the
// stored bytes are copied instead, in large blocks, through the same CRLF conversion. The
// output is byte for byte what GMime would write (its unix2dos filter, ensure_newline
// included), only faster.
struct RawPart {
    GMimePart* part;
    GPtr<GMimeDataWrapper> original;
    std::string marker;  ///< "keyfence-raw-<nonce>-<n>\n"
    bool ensure_newline;
    bool binary;
};

class RawParts {
  public:
    explicit RawParts(GMimeObject* root) {
        unsigned char nonce[16];
        if (RAND_bytes(nonce, sizeof nonce) != 1) return;  // no fast path, still correct
        static const char* hex = "0123456789abcdef";
        for (unsigned char c : nonce) {
            m_nonce.push_back(hex[c >> 4]);
            m_nonce.push_back(hex[c & 15]);
        }
        visit(root);
    }
    RawParts(const RawParts&) = delete;  // restores the parts once
    RawParts& operator=(const RawParts&) = delete;
    ~RawParts() {
        for (auto& raw : m_parts) g_mime_part_set_content(raw.part, raw.original.get());
    }

    /// The part whose marker GMime wrote as `bytes` (with LF or CRLF), or null.
    const RawPart* find(std::string_view bytes) const {
        if (m_parts.empty() || bytes.size() < 2 || bytes.back() != '\n') return nullptr;
        std::string_view line = bytes.substr(0, bytes.size() - 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        for (const auto& raw : m_parts) {
            if (std::string_view(raw.marker).substr(0, raw.marker.size() - 1) == line) {
                return &raw;
            }
        }
        return nullptr;
    }
    std::size_t count() const noexcept { return m_parts.size(); }

  private:
    void visit(GMimeObject* object) {
        if (GMIME_IS_MULTIPART(object)) {
            auto* multipart = GMIME_MULTIPART(object);
            for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i) {
                visit(g_mime_multipart_get_part(multipart, i));
            }
        } else if (GMIME_IS_MESSAGE(object)) {
            GMimeObject* body = g_mime_message_get_mime_part(GMIME_MESSAGE(object));
            if (body != nullptr) visit(body);
        } else if (GMIME_IS_MESSAGE_PART(object)) {
            GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
            if (inner != nullptr) {
                GMimeObject* body = g_mime_message_get_mime_part(inner);
                if (body != nullptr) visit(body);
            }
        } else if (GMIME_IS_PART(object)) {
            swap(GMIME_PART(object));
        }
    }

    void swap(GMimePart* part) {
        GMimeDataWrapper* content = g_mime_part_get_content(part);
        if (content == nullptr) return;
        const GMimeContentEncoding encoding = g_mime_part_get_content_encoding(part);
        if (g_mime_data_wrapper_get_encoding(content) != encoding) return;  // GMime encodes
        GMimeStream* stream = g_mime_data_wrapper_get_stream(content);
        if (stream == nullptr || g_mime_stream_length(stream) < k_raw_threshold) return;
        RawPart raw{part, add_ref(content),
                    "keyfence-raw-" + m_nonce + "-" + std::to_string(m_parts.size()) + "\n",
                    GMIME_OBJECT(part)->ensure_newline != FALSE,
                    encoding == GMIME_CONTENT_ENCODING_BINARY};
        auto marker = memory_stream(raw.marker);
        GPtr<GMimeDataWrapper> wrapper(g_mime_data_wrapper_new_with_stream(marker.get(), encoding));
        g_mime_part_set_content(part, wrapper.get());
        m_parts.push_back(std::move(raw));
    }

    std::string m_nonce;
    std::vector<RawPart> m_parts;
};

// The state of one write_canonical() call.
struct CanonicalWriter {
    GMimeStream* out;
    RawParts& raw;
    CrlfConverter crlf;
    std::size_t copied = 0;  ///< raw parts copied
    std::vector<char> block;

    bool put(std::string_view bytes) {
        const std::string_view converted = crlf.convert(bytes);
        return g_mime_stream_write(out, converted.data(), converted.size()) ==
               static_cast<ssize_t>(converted.size());
    }

    // What GMime's raw path does with a unix2dos filter (LF -> CRLF, then a final CRLF when
    // ensure_newline and the content does not end with LF), in 1 MiB blocks.
    bool copy(const RawPart& part) {
        GMimeStream* stream = g_mime_data_wrapper_get_stream(part.original.get());
        if (g_mime_stream_reset(stream) != 0) return false;
        if (block.empty()) block.resize(k_raw_block);
        char last = 0;
        // As g_mime_stream_write_to_stream: a bounded GMime stream fails a read at its end
        // rather than returning 0, so eos() decides.
        while (!g_mime_stream_eos(stream)) {
            const ssize_t n = g_mime_stream_read(stream, block.data(), block.size());
            if (n < 0) return false;
            if (n == 0) break;
            last = block[static_cast<std::size_t>(n) - 1];
            if (!put(std::string_view(block.data(), static_cast<std::size_t>(n)))) return false;
        }
        g_mime_stream_reset(stream);
        ++copied;
        if (!part.binary && part.ensure_newline && last != '\n') return put("\r\n");
        return true;
    }

    bool write(std::string_view bytes) {
        if (const RawPart* part = raw.find(bytes); part != nullptr) return copy(*part);
        return put(bytes);
    }
};
}  // namespace

bool write_canonical(GMimeObject* object, GMimeStream* out) {
    auto options = crlf_options();
    RawParts raw(object);
    CanonicalWriter writer{out, raw, {}, 0, {}};
    // GMime 3.2.13 writes a multipart's epilogue as it was read, bare LFs included: every bare
    // LF becomes CRLF here, as to_crlf() does for memory. (GMime's unix2dos filter does the
    // same a byte at a time.)
    auto crlf = sink_stream([&writer](std::string_view bytes) { return writer.write(bytes); });
    if (g_mime_object_write_to_stream(object, options.get(), crlf.get()) < 0) return false;
    // Every swapped part must have been copied: a marker left in the output would be a silent
    // corruption of the message.
    if (writer.copied != raw.count()) return false;
    return g_mime_stream_flush(out) == 0;
}

}  // namespace keyfence::mail::mime
