#include "mail/smime/stream_opaque.hpp"

#include <openssl/cms.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/openssl_error.hpp"
#include "mail/smime/cms_io.hpp"
#include "mail/smime/stream_base64.hpp"
#include "mail/smime/stream_der.hpp"
#include "mail/smime/stream_hash.hpp"

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

// The bounds of stream_der.cpp, so that both readers take the same structures.
constexpr std::uint64_t k_max_element = 16u << 20;  // anything but the content is small
constexpr int k_max_children = 65;
constexpr std::size_t k_max_depth = 32;
constexpr std::uint8_t k_sequence = 0x30, k_set = 0x31, k_ctx0_cons = 0xa0;
constexpr std::uint8_t k_octets = 0x04, k_octets_cons = 0x24;
// RFC 5652 §5.1 id-signedData, with its tag and length.
constexpr std::string_view k_signed_data_oid("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 11);

// Where an element sits in ContentInfo { contentType, [0] SignedData { version,
// digestAlgorithms, encapContentInfo { eContentType, [0] eContent }, ..., signerInfos } }.
enum class Role {
    Other,
    ContentInfo,
    ContentType,
    Explicit0,
    SignedData,
    SignedField,  ///< a SignedData field other than encapContentInfo: kept whole
    Encap,
    EContentType,
    Wrapper,   ///< eContent's [0] EXPLICIT
    EContent,  ///< the OCTET STRING, primitive or constructed
    Segment,   ///< an OCTET STRING within a constructed eContent (X.690 §8.7)
};

// A push reader of the SignedData's BER, fed the decoded bytes in pieces of any size.
class Walker {
  public:
    enum class State { Header, Payload, Done, Declined, Broken };

    /// Called at the eContent's header, once the fields before it are complete; false
    /// declines the structure.
    std::function<bool(Walker&)> on_start;
    std::function<void(std::string_view)> on_content;

    bool running() const noexcept {
        return m_state == State::Header || m_state == State::Payload || m_state == State::Done;
    }
    State state() const noexcept { return m_state; }
    const std::string& why() const noexcept { return m_why; }
    bool content_started() const noexcept { return m_started; }

    void feed(std::string_view bytes) {
        while (!bytes.empty() && running()) {
            if (m_state == State::Done) return malformed("bytes after the structure");
            if (m_state == State::Payload) {
                const std::size_t n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), m_left));
                if (m_content) {
                    on_content(bytes.substr(0, n));
                } else if (!capture(bytes.substr(0, n))) {
                    return;
                }
                m_pos += n;
                m_left -= n;
                bytes.remove_prefix(n);
                if (m_left == 0) {
                    m_state = State::Header;
                    close(true);
                }
                continue;
            }
            m_header.push_back(bytes.front());
            bytes.remove_prefix(1);
            ++m_pos;
            header_byte();
        }
    }

    void finish() {
        if (m_state == State::Header || m_state == State::Payload) malformed("truncated");
    }

    /// The head: what precedes the eContent, with an empty signerInfos (for CMS_dataInit).
    std::string head() const {
        return der_element(
            k_sequence,
            m_content_type +
                der_element(k_ctx0_cons,
                            der_element(k_sequence, m_fields[0] + m_fields[1] +
                                                        der_element(k_sequence, m_e_content_type) +
                                                        der_element(k_set, {}))));
    }
    /// The same signature detached (as read_signed_skeleton: the eContent left out).
    std::string skeleton() const {
        std::string body;
        for (std::size_t i = 0; i < m_fields.size(); ++i) {
            body += i == 2 ? der_element(k_sequence, m_e_content_type) : m_fields[i];
        }
        return der_element(
            k_sequence, m_content_type + der_element(k_ctx0_cons, der_element(k_sequence, body)));
    }

  private:
    struct Frame {
        Role role;
        std::uint8_t tag;
        bool indefinite;
        std::uint64_t end;  ///< definite: the offset past the element
        int children = 0;
    };

    // Before the content, a structure this reader does not take goes back to the caller's
    // other path (which says what is wrong with it); after, it is unreadable.
    void malformed(const std::string& what) {
        if (!m_started) {
            m_state = State::Declined;
            return;
        }
        m_state = State::Broken;
        m_why = what;
    }

    bool capture(std::string_view bytes) {
        if (m_capture == nullptr) return true;
        if (m_capture->size() + bytes.size() > k_max_element) {
            malformed("an element is too large");
            return false;
        }
        m_capture->append(bytes);
        return true;
    }

    // X.690 §8.1: identifier (low tag numbers only), length (definite up to 8 octets, or
    // indefinite). Called for each byte of a header until it is complete.
    void header_byte() {
        const auto* b = reinterpret_cast<const unsigned char*>(m_header.data());
        if ((b[0] & 0x1f) == 0x1f) return malformed("unexpected high tag number");
        if (m_header.size() < 2) return;
        std::uint64_t length = 0;
        bool indefinite = false;
        if (b[1] == 0x80) {
            indefinite = true;
        } else if (b[1] > 0x80) {
            const std::size_t count = b[1] & 0x7f;
            if (count > 8) return malformed("bad length");
            if (m_header.size() < 2 + count) return;
            for (std::size_t i = 0; i < count; ++i) length = (length << 8) | b[2 + i];
        } else {
            length = b[1];
        }
        const auto tag = static_cast<std::uint8_t>(b[0]);
        const std::string header = std::move(m_header);
        m_header.clear();
        element(header, tag, indefinite, length);
    }

    void element(const std::string& header, std::uint8_t tag, bool indefinite,
                 std::uint64_t length) {
        if (m_stack.empty() && m_seen_top) return malformed("bytes after the structure");
        if (!m_stack.empty() && m_stack.back().indefinite && tag == 0 && length == 0 &&
            header.size() == 2) {
            if (!capture(header)) return;
            close(false);  // end-of-contents
            return;
        }
        const bool constructed = (tag & 0x20) != 0;
        if (indefinite && !constructed)
            return malformed("indefinite length on a primitive element");
        if (m_stack.size() >= k_max_depth) return malformed("nested too deeply");
        for (const Frame& open : m_stack) {
            if (!open.indefinite && m_pos > open.end)
                return malformed("an element runs past the end");
        }
        Role role = Role::ContentInfo;
        if (!m_stack.empty()) {
            Frame& parent = m_stack.back();
            if (!indefinite && !parent.indefinite && length > parent.end - m_pos) {
                return malformed("an element runs past the end");
            }
            // The content's segments are as many as its size asks (as stream_der's reader).
            const bool segments = parent.role == Role::EContent || parent.role == Role::Segment;
            if (++parent.children > k_max_children && !segments) {
                return malformed("too many elements");
            }
            role = role_of(parent, parent.children - 1);
        }
        m_seen_top = true;
        switch (role) {
            case Role::ContentInfo:
                if (tag != k_sequence) return malformed("not a ContentInfo");
                break;
            case Role::Explicit0:
                if (m_content_type != k_signed_data_oid) return malformed("not signed-data");
                break;
            case Role::SignedData:
                if (tag != k_sequence) return malformed("the content is not a SEQUENCE");
                break;
            case Role::Wrapper:
                if (tag != k_ctx0_cons) return malformed("bad eContent");
                break;
            case Role::EContent:
                if (tag != k_octets && tag != k_octets_cons) {
                    return malformed("the eContent is not an OCTET STRING");
                }
                if (!on_start(*this)) return malformed("declined");
                m_started = true;
                break;
            case Role::Segment:
                if (tag != k_octets && tag != k_octets_cons) {
                    return malformed("a segment of the eContent is not an OCTET STRING");
                }
                break;
            default:
                break;
        }
        if (role == Role::ContentType || role == Role::EContentType || role == Role::SignedField) {
            m_capture = role == Role::ContentType    ? &m_content_type
                        : role == Role::EContentType ? &m_e_content_type
                                                     : &m_fields.back();
            m_capture_depth = m_stack.size();
        }
        if (!capture(header)) return;
        m_stack.push_back(Frame{role, tag, indefinite, indefinite ? 0 : m_pos + length});
        if (!constructed) {
            m_left = length;
            m_content = role == Role::EContent || role == Role::Segment;
            if (length > 0) {
                m_state = State::Payload;
                return;
            }
            close(true);
        } else if (!indefinite && length == 0) {
            close(true);
        }
    }

    Role role_of(const Frame& parent, int index) {
        switch (parent.role) {
            case Role::ContentInfo:
                return index == 0 ? Role::ContentType : index == 1 ? Role::Explicit0 : Role::Other;
            case Role::Explicit0:
                return index == 0 ? Role::SignedData : Role::Other;
            case Role::SignedData:
                m_fields.emplace_back();
                return index == 2 ? Role::Encap : Role::SignedField;
            case Role::Encap:
                return index == 0 ? Role::EContentType : index == 1 ? Role::Wrapper : Role::Other;
            case Role::Wrapper:
                return index == 0 ? Role::EContent : Role::Other;
            case Role::EContent:
            case Role::Segment:
                return Role::Segment;
            default:
                return Role::Other;
        }
    }

    // Ends the innermost element (`definite_done`: it ended by its length, else by an
    // end-of-contents), then every definite element that ends at the same offset.
    void close(bool definite_done) {
        (void)definite_done;
        if (!pop()) return;
        while (!m_stack.empty() && !m_stack.back().indefinite && m_stack.back().end == m_pos) {
            if (!pop()) return;
        }
    }

    bool pop() {
        const Frame frame = m_stack.back();
        m_stack.pop_back();
        if (m_capture != nullptr && m_capture_depth == m_stack.size()) m_capture = nullptr;
        switch (frame.role) {
            case Role::ContentInfo:
                if (frame.children != 2) return malformed("bad ContentInfo"), false;
                m_state = State::Done;
                break;
            case Role::Explicit0:
                if (frame.children != 1) return malformed("bad ContentInfo content"), false;
                break;
            case Role::SignedData:
                if (frame.children < 4) return malformed("bad SignedData"), false;
                break;
            case Role::Encap:
                // No eContent (a detached signature inside pkcs7-mime) is not for this reader.
                if (frame.children < 1 || frame.children > 2 || !m_started) {
                    return malformed("bad EncapsulatedContentInfo"), false;
                }
                break;
            case Role::Wrapper:
                if (frame.children != 1) return malformed("bad eContent"), false;
                break;
            default:
                break;
        }
        return true;
    }

    State m_state = State::Header;
    std::string m_why;
    std::uint64_t m_pos = 0;  ///< of the next byte, in the decoded structure
    std::string m_header;
    std::uint64_t m_left = 0;  ///< of the current primitive element's octets
    bool m_content = false;    ///< they are the content's
    bool m_started = false;    ///< content went out
    bool m_seen_top = false;
    std::vector<Frame> m_stack;
    std::string* m_capture = nullptr;
    std::size_t m_capture_depth = 0;
    std::string m_content_type;
    std::string m_e_content_type;
    std::vector<std::string> m_fields;  ///< SignedData's, raw; [2] (encapContentInfo) empty
};
}  // namespace

base::Result<std::optional<StreamedSignedData>> stream_opaque_signed_data(
    GMimeDataWrapper* wrapper, const std::function<void(std::string_view)>& tee) {
    using Declined = std::optional<StreamedSignedData>;
    if (wrapper == nullptr ||
        g_mime_data_wrapper_get_encoding(wrapper) != GMIME_CONTENT_ENCODING_BASE64) {
        return Declined();
    }
    GMimeStream* stream = g_mime_data_wrapper_get_stream(wrapper);
    if (stream == nullptr || g_mime_stream_reset(stream) != 0) return Declined();
    StreamedSignedData result;
    // Started at the content: hashing (and `tee`) on a second thread, while this one reads,
    // decodes and walks.
    std::optional<BackgroundHasher> hasher;
    Walker walker;
    walker.on_start = [&](Walker& w) {
        auto head = cms_from_der(w.head());
        if (!head) return false;
        base::BioPtr sink(BIO_new(BIO_s_null()));
        if (!sink) return false;
        BIO* chain = CMS_dataInit(head->get(), sink.get());
        if (chain == nullptr) {
            base::clear_openssl_errors();
            return false;
        }
        sink.release();  // the end of `chain`
        result.head = std::move(*head);
        result.digests.reset(chain);
        hasher.emplace(std::vector<const EVP_MD*>{}, [chain, &tee](std::string_view bytes) {
            const int n = static_cast<int>(bytes.size());
            if (BIO_write(chain, bytes.data(), n) != n) return false;
            if (tee) tee(bytes);
            return true;
        });
        return true;
    };
    walker.on_content = [&hasher](std::string_view bytes) { hasher->update(bytes); };
    Base64Decoder decoder;
    std::vector<char> block(1 << 20);
    // As g_mime_stream_write_to_stream: a bounded GMime stream fails a read at its end rather
    // than returning 0, so eos() decides.
    while (walker.running() && !g_mime_stream_eos(stream)) {
        const ssize_t n = g_mime_stream_read(stream, block.data(), block.size());
        if (n < 0) return base::Error(ErrorCode::Io, "the signed-data part cannot be read");
        if (n == 0) break;
        walker.feed(decoder.decode(std::string_view(block.data(), static_cast<std::size_t>(n))));
    }
    walker.feed(decoder.finish());
    walker.finish();
    g_mime_stream_reset(stream);
    if (hasher) {
        hasher->final();
        if (hasher->sink_failed()) {
            return base::Error(ErrorCode::Internal, "could not hash the signed content");
        }
    }
    if (walker.state() == Walker::State::Declined) return Declined();
    if (walker.state() == Walker::State::Broken) {
        result.digests.reset();
        result.unreadable = walker.why();
        return Declined(std::move(result));
    }
    result.der = walker.skeleton();
    return Declined(std::move(result));
}

}  // namespace keyfence::mail::smime
