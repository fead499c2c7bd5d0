#include "mail/pgp/sign.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "mail/mime/raw_entity.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;
}  // namespace

std::vector<std::uint8_t> sha256_of(std::string_view bytes) {
    std::vector<std::uint8_t> out(32);
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string micalg_for(gpgme_hash_algo_t algo) {
    const char* name = gpgme_hash_algo_name(algo);
    if (name == nullptr) return {};
    std::string s = std::string("pgp-") + name;
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

gpgme_hash_algo_t signature_hash(gpgme_subkey_t sub) {
    const std::string curve = sub != nullptr && sub->curve != nullptr ? sub->curve : "";
    if (curve == "ed448" || curve.find("521") != std::string::npos ||
        curve.find("512") != std::string::npos) {
        return GPGME_MD_SHA512;
    }
    return curve.find("384") != std::string::npos ? GPGME_MD_SHA384 : GPGME_MD_SHA256;
}

base::Result<PreparedContent> prepare_content(std::string_view message) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse(message));
    // RFC 3156 §3: signed data must be 7bit so that no transport hop changes a byte.
    g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    std::string content = mime::canonical_bytes(parsed.body());
    auto sha256 = sha256_of(content);
    return PreparedContent{std::move(parsed), std::move(content), std::move(sha256)};
}

base::Result<PreparedFile> prepare_file_content(const std::string& path,
                                                const smime::ProgressFn& progress) {
    KEYFENCE_TRY_ASSIGN(parsed, mime::Message::parse_file(path));
    // RFC 3156 §3: signed data must be 7bit so that no transport hop changes a byte.
    g_mime_object_encode(parsed.body(), GMIME_ENCODING_CONSTRAINT_7BIT);
    KEYFENCE_TRY_ASSIGN(content, smime::TempFile::create());
    smime::Hasher sha256(EVP_sha256());
    smime::BufferedWriter file(
        [&](std::string_view block) { return smime::write_fd(content.fd(), block); });
    auto sink = mime::sink_stream([&](std::string_view bytes) {
        sha256.update(bytes);
        if (progress) progress(file.written(), 0);
        return file.write(bytes);
    });
    if (!mime::write_canonical(parsed.body(), sink.get())) {
        KEYFENCE_TRY(file.status());
        return base::Error(ErrorCode::Internal, "GMime could not write the message body");
    }
    KEYFENCE_TRY(file.flush());
    const std::uint64_t size = file.written();
    return PreparedFile{std::move(parsed), std::move(content), size, sha256.final()};
}

}  // namespace keyfence::mail::pgp
