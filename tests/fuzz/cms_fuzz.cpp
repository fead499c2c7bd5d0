// libFuzzer: CMS structures on their own — any bytes as the DER of a SignedData (opaque, and
// detached with a fixed content), checked SignerInfo by SignerInfo under Keyfence's CMS limits
// (mail/smime/signed_data, cms_limits), as any ContentInfo, and as the head of an envelope
// (envelope_head: every prefix, as `mail open` reads it). Any crash, leak or UB is a bug;
// errors and "problems" are the expected outcome. Seeds: the CMS of real signed and encrypted
// messages (tests/fuzz/corpus/cms_fuzz). Whole messages are mime_fuzz's.

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

#include "mail/smime/cms_io.hpp"
#include "mail/smime/cms_limits.hpp"
#include "mail/smime/envelope_head.hpp"
#include "mail/smime/signed_data.hpp"
#include "tests/fuzz/fuzz_certificate.hpp"

namespace {
// One throwaway self-signed trust anchor in a temporary PEM file: loading the system store
// for every input would cost more than the parsing under test.
char g_anchor[] = "/tmp/keyfence-cms-fuzz-XXXXXX";

void remove_anchor() {
    std::remove(g_anchor);
}

const char* anchor_file() {
    static const bool made = [] {
        X509* c = keyfence::fuzz::self_signed_certificate("EC");
        const int fd = mkstemp(g_anchor);
        FILE* f = fdopen(fd, "w");
        PEM_write_X509(f, c);
        std::fclose(f);
        X509_free(c);
        std::atexit(remove_anchor);
        return true;
    }();
    (void)made;
    return g_anchor;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace keyfence::mail::smime;
    const std::string_view der(reinterpret_cast<const char*>(data), size);
    if (auto cms = cms_from_der(der)) (void)check_cms_limits(cms->get());
    // The head reader sees the input grow as decoding goes; its skeleton must parse or fail
    // cleanly. (libFuzzer's own prefixes cover the rest.)
    for (std::size_t n : {size / 2, size}) {
        auto head = envelope_head_skeleton(der.substr(0, n));
        if (!head || !*head) continue;
        if (auto cms = cms_from_der(**head)) (void)check_cms_limits(cms->get());
    }
    // As of the epoch: no result depends on the clock.
    const VerifyOptions options{.ca_files = {anchor_file()}, .untrusted_files = {}, .at = 0};
    (void)check_signed_data(der, std::nullopt, options);
    (void)check_signed_data(der, std::string("Content-Type: text/plain\r\n\r\nfuzz\r\n"), options);
    return 0;
}
