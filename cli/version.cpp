#include "cli/version.hpp"

#include <PCSC/pcsclite.h>
#include <gmime/gmime.h>
#include <gpgme.h>
#include <openssl/crypto.h>

namespace keyfence::cli {

std::string version_text() {
    std::string text = "keyfence " KEYFENCE_VERSION "\n";
    text += std::string("  OpenSSL   ") + OpenSSL_version(OPENSSL_VERSION) + "\n";
    text += "  libp11    " KEYFENCE_LIBP11_VERSION " (built against)\n";
    text += "  p11-kit   " KEYFENCE_P11KIT_VERSION " (built against)\n";
    text += "  pcsc-lite " PCSCLITE_VERSION_NUMBER " (built against)\n";
    const char* gpgme = gpgme_check_version(nullptr);
    text += std::string("  GPGME     ") + (gpgme != nullptr ? gpgme : "unknown") + "\n";
    // GMime's run-time version: the library actually loaded, not the headers built against.
    text += "  GMime     " + std::to_string(gmime_major_version) + "." +
            std::to_string(gmime_minor_version) + "." + std::to_string(gmime_micro_version) + "\n";
    return text;
}

}  // namespace keyfence::cli
