#include "mail/smime/stream_signed_data.hpp"

#include <openssl/x509.h>

#include <algorithm>
#include <vector>

namespace keyfence::mail::smime {
namespace {
using base::ErrorCode;

// RFC 5652 §5.1 id-signedData 1.2.840.113549.1.7.2 and §4 id-data 1.2.840.113549.1.7.1.
constexpr std::string_view k_signed_data_oid = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02";
constexpr std::string_view k_data_oid = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01";
constexpr std::string_view k_indefinite = "\x80";
constexpr std::string_view k_end_of_contents{"\0\0", 2};

std::string der_length(std::size_t size) {
    if (size < 0x80) return std::string(1, static_cast<char>(size));
    std::string bytes;
    for (std::size_t n = size; n != 0; n >>= 8) bytes.insert(bytes.begin(), static_cast<char>(n));
    return static_cast<char>(0x80 | bytes.size()) + bytes;
}

std::string der(char tag, std::string_view content) {
    return tag + der_length(content.size()) + std::string(content);
}

// version 1 (RFC 5652 §5.1: id-data content, issuerAndSerialNumber signer, no v2 attribute
// certificates) and digestAlgorithms { md }, as OpenSSL writes them (X509_ALGOR_set_md).
base::Result<std::string> version_and_algorithms(const EVP_MD* md) {
    X509_ALGOR* alg = X509_ALGOR_new();
    if (alg == nullptr) return base::Error(ErrorCode::Internal, "no memory");
    X509_ALGOR_set_md(alg, md);
    unsigned char* encoded = nullptr;
    const int n = i2d_X509_ALGOR(alg, &encoded);
    X509_ALGOR_free(alg);
    if (n <= 0) return base::Error(ErrorCode::Internal, "could not encode the digest algorithm");
    std::string algorithm(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
    OPENSSL_free(encoded);
    return std::string("\x02\x01\x01", 3) + der('\x31', algorithm);
}

// One DER element: its full size (header and content) and where its content starts.
struct Element {
    std::size_t header = 0;
    std::size_t size = 0;
};

bool read_element(std::string_view der, Element& e) {
    if (der.size() < 2 || (static_cast<unsigned char>(der[0]) & 0x1f) == 0x1f) return false;
    const auto first = static_cast<unsigned char>(der[1]);
    std::size_t length = first;
    e.header = 2;
    if (first >= 0x80) {
        const std::size_t count = first & 0x7f;
        if (count == 0 || count > 4 || der.size() < 2 + count) return false;  // no indefinite
        length = 0;
        for (std::size_t i = 0; i < count; ++i) {
            length = (length << 8) | static_cast<unsigned char>(der[2 + i]);
        }
        e.header += count;
    }
    if (der.size() - e.header < length) return false;
    e.size = e.header + length;
    return true;
}

// The elements inside the constructed element that starts `der`.
bool children(std::string_view der, char tag, std::vector<std::string_view>& out) {
    Element outer;
    if (der.empty() || der[0] != tag || !read_element(der, outer)) return false;
    std::string_view content = der.substr(outer.header, outer.size - outer.header);
    while (!content.empty()) {
        Element e;
        if (!read_element(content, e)) return false;
        out.push_back(content.substr(0, e.size));
        content.remove_prefix(e.size);
    }
    return true;
}
}  // namespace

base::Result<std::string> opaque_signed_data_head(const EVP_MD* md) {
    KEYFENCE_TRY_ASSIGN(fields, version_and_algorithms(md));
    std::string head;
    head.append("\x30").append(k_indefinite).append(k_signed_data_oid);
    head.append("\xa0").append(k_indefinite);
    head.append("\x30").append(k_indefinite).append(fields);
    head.append("\x30").append(k_indefinite).append(k_data_oid);
    head.append("\xa0").append(k_indefinite);
    head.append("\x24").append(k_indefinite);  // constructed OCTET STRING (BER)
    return head;
}

std::string octet_segment_header(std::size_t size) {
    return '\x04' + der_length(size);
}

base::Result<std::string> opaque_signed_data_tail(std::string_view detached,
                                                  std::string_view head) {
    const base::Error bad(ErrorCode::Internal,
                          "the detached signature does not fit the streamed signed-data");
    std::vector<std::string_view> info, wrapper, signed_data;
    if (!children(detached, '\x30', info) || info.size() != 2 || info[0] != k_signed_data_oid ||
        !children(info[1], '\xa0', wrapper) || wrapper.size() != 1 ||
        !children(wrapper[0], '\x30', signed_data) || signed_data.size() < 4) {
        return bad;
    }
    // version, digestAlgorithms: as the head promised; encapContentInfo: id-data, no content.
    constexpr std::size_t k_fields_at = 2 + k_signed_data_oid.size() + 2 + 2;  // see head()
    const std::string fields = std::string(signed_data[0]) + std::string(signed_data[1]);
    if (head.substr(std::min(k_fields_at, head.size()), fields.size()) != fields ||
        signed_data[2] != der('\x30', k_data_oid)) {
        return bad;
    }
    std::string tail;
    for (int i = 0; i < 3; ++i) tail.append(k_end_of_contents);  // OCTET STRING, [0], encap
    for (std::size_t i = 3; i < signed_data.size(); ++i) tail.append(signed_data[i]);
    for (int i = 0; i < 3; ++i) tail.append(k_end_of_contents);  // SignedData, [0], ContentInfo
    return tail;
}

}  // namespace keyfence::mail::smime
