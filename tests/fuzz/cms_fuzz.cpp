// libFuzzer: CMS structures on their own — any bytes as the DER of a SignedData (opaque, and
// detached with a fixed content), checked SignerInfo by SignerInfo under Keyfence's CMS limits
// (mail/smime/signed_data, cms_limits), and as any ContentInfo. Any crash, leak or UB is a bug;
// errors and "problems" are the expected outcome. Seeds: the CMS of real signed and encrypted
// messages (tests/fuzz/corpus/cms_fuzz). Whole messages are mime_fuzz's.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mail/smime/cms_io.hpp"
#include "mail/smime/cms_limits.hpp"
#include "mail/smime/signed_data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace keyfence::mail::smime;
    const std::string_view der(reinterpret_cast<const char*>(data), size);
    if (auto cms = cms_from_der(der)) (void)check_cms_limits(cms->get());
    // As of the epoch: no result depends on the clock.
    const VerifyOptions options{.ca_files = {}, .untrusted_files = {}, .at = 0};
    (void)check_signed_data(der, std::nullopt, options);
    (void)check_signed_data(der, std::string("Content-Type: text/plain\r\n\r\nfuzz\r\n"), options);
    return 0;
}
