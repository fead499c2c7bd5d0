// libFuzzer: the MIME entry points that read outside data — a whole message parsed by GMime
// under Keyfence's limits (docs/limits.md), its coverage and sender analysis, and the S/MIME
// paths that start from a message (verify, decryption preparation, signing preparation). Any
// crash, leak or UB is a bug; errors are the expected outcome. Seeds: tests/data/smime and real
// signed and encrypted messages. The CMS structures alone are cms_fuzz's.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/handles.hpp"
#include "mail/mime/coverage.hpp"
#include "mail/mime/message.hpp"
#include "mail/mime/sender.hpp"
#include "mail/smime/decrypt.hpp"
#include "mail/smime/sign.hpp"
#include "mail/smime/verify.hpp"
#include "tests/fuzz/fuzz_certificate.hpp"

namespace {
// A recipient certificate for prepare_decryption.
X509* recipient() {
    static X509* cert = keyfence::fuzz::self_signed_certificate("RSA");
    return cert;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace keyfence::mail;
    const std::string_view message(reinterpret_cast<const char*>(data), size);
    if (auto parsed = mime::Message::parse(message)) {
        (void)parsed->headers();
        const auto coverage = mime::analyse_coverage(parsed->body());
        const auto sender = mime::sender_headers(parsed->get());
        (void)mime::check_sender(sender, {{{"a@example.org"}, {"A"}}});
        (void)mime::quote(sender.from_text);
        (void)coverage.whole_body_signed();
    }
    (void)mime::parse_entity(message);
    (void)smime::verify_message(message, {});
    (void)smime::prepare_decryption(message, recipient());
    (void)smime::prepare_signature(message, {});
    return 0;
}
