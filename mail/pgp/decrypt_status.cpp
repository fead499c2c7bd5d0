#include "mail/pgp/decrypt_status.hpp"

#include <cstdlib>
#include <string_view>

namespace keyfence::mail::pgp {
namespace {

std::vector<std::string> fields_of(std::string_view args) {
    std::vector<std::string> fields;
    while (!args.empty()) {
        const std::size_t sp = args.find(' ');
        if (sp != 0) fields.emplace_back(args.substr(0, sp));
        if (sp == std::string_view::npos) break;
        args.remove_prefix(sp + 1);
    }
    return fields;
}

long number(const std::vector<std::string>& f, std::size_t i) {
    return i < f.size() ? std::strtol(f[i].c_str(), nullptr, 10) : 0;
}

std::int64_t number64(const std::vector<std::string>& f, std::size_t i) {
    // VALIDSIG may give an ISO 8601 time ("20261130T100000") for a signature made after 2038;
    // strtoll then reads only its date, which is still "set": GPGME does the same.
    return i < f.size() ? std::strtoll(f[i].c_str(), nullptr, 10) : 0;
}

// GPGME's names (_gpgme_cipher_algo_name, RFC 4880 §9.2) and modes (RFC 4880bis §9.6).
std::string cipher_name(int algo, int aead, int mdc) {
    static constexpr const char* k_names[] = {
        "?",   "IDEA",   "3DES",   "CAST5",   "BLOWFISH",    "?",           "?",
        "AES", "AES192", "AES256", "TWOFISH", "CAMELLIA128", "CAMELLIA192", "CAMELLIA256"};
    const std::string name =
        algo >= 0 && algo < static_cast<int>(std::size(k_names)) ? k_names[algo] : "?";
    if (aead == 0 && mdc != 2) return name + ".PGPCFB";
    return name + (aead == 1 ? ".EAX" : aead == 2 ? ".OCB" : ".CFB");
}

gpgme_error_t error_code(const std::string& field) {
    return static_cast<gpgme_error_t>(std::strtoul(field.c_str(), nullptr, 10));
}

// The PIN and card errors of the token's unwrap that GPGME's decrypt passes on instead of
// "decryption failed" (the rest of pkdecrypt_failed's codes are failures of the data).
gpgme_error_t token_error(gpgme_error_t err) {
    switch (gpg_err_code(err)) {
        case GPG_ERR_CANCELED:
        case GPG_ERR_FULLY_CANCELED:
            return gpg_err_make(gpg_err_source(err), GPG_ERR_CANCELED);
        case GPG_ERR_BAD_PASSPHRASE:
        case GPG_ERR_BAD_PIN:
        case GPG_ERR_PIN_BLOCKED:
        case GPG_ERR_CARD_REMOVED:
        case GPG_ERR_CARD_NOT_PRESENT:
            return err;
        default:
            return 0;
    }
}

gpgme_validity_t trust_validity(std::string_view keyword) {
    if (keyword == "TRUST_NEVER") return GPGME_VALIDITY_NEVER;
    if (keyword == "TRUST_MARGINAL") return GPGME_VALIDITY_MARGINAL;
    if (keyword == "TRUST_FULLY") return GPGME_VALIDITY_FULL;
    if (keyword == "TRUST_ULTIMATE") return GPGME_VALIDITY_ULTIMATE;
    return GPGME_VALIDITY_UNKNOWN;  // TRUST_UNDEFINED
}

// One signature's verdict line (doc/DETAILS "Signature related"), as GPGME's verify handler
// reads it: the key id first (replaced by the fingerprint when VALIDSIG comes).
struct Signatures {
    std::vector<GpgSignature>& list;
    bool open = false;  ///< the last signature has had no verdict line yet (after NEWSIG)

    GpgSignature& verdict(const std::vector<std::string>& f, gpgme_error_t status) {
        if (!open) list.emplace_back();
        open = false;
        GpgSignature& s = list.back();
        if (!f.empty()) s.fingerprint = f[0];
        s.status = status;
        return s;
    }
    GpgSignature* last() { return list.empty() ? nullptr : &list.back(); }
};

void on_signature_line(const std::string& keyword, const std::vector<std::string>& f,
                       Signatures& sigs) {
    if (keyword == "NEWSIG") {
        sigs.list.emplace_back();
        sigs.open = true;
    } else if (keyword == "GOODSIG") {
        sigs.verdict(f, 0);
    } else if (keyword == "BADSIG") {
        sigs.verdict(f, gpg_error(GPG_ERR_BAD_SIGNATURE));
    } else if (keyword == "EXPSIG") {
        sigs.verdict(f, gpg_error(GPG_ERR_SIG_EXPIRED));
    } else if (keyword == "EXPKEYSIG") {
        sigs.verdict(f, gpg_error(GPG_ERR_KEY_EXPIRED));
    } else if (keyword == "REVKEYSIG") {
        sigs.verdict(f, gpg_error(GPG_ERR_CERT_REVOKED)).key_revoked = true;
    } else if (keyword == "ERRSIG") {
        // ERRSIG <keyid> <pkalgo> <hashalgo> <sig_class> <time> <rc> [<fpr>]
        const long rc = number(f, 5);
        GpgSignature& s = sigs.verdict(f, gpg_error(rc == 9   ? GPG_ERR_NO_PUBKEY
                                                    : rc == 4 ? GPG_ERR_UNSUPPORTED_ALGORITHM
                                                              : GPG_ERR_GENERAL));
        s.hash_algo = static_cast<int>(number(f, 2));
        s.timestamp = number64(f, 4);
        if (f.size() > 6 && f[6] != "-") s.fingerprint = f[6];
    } else if (GpgSignature* s = sigs.last(); s != nullptr) {
        if (keyword == "VALIDSIG") {
            // VALIDSIG <fpr> <date> <timestamp> <expires> <version> <reserved> <pkalgo>
            //          <hashalgo> <class> [<primary fpr>]
            if (!f.empty()) s->fingerprint = f[0];
            s->timestamp = number64(f, 2);
            s->expires = number64(f, 3);
            s->hash_algo = static_cast<int>(number(f, 7));
        } else if (keyword.rfind("TRUST_", 0) == 0) {
            s->validity = trust_validity(keyword);
        } else if (keyword == "KEYREVOKED") {
            s->key_revoked = true;
        }
    }
}
}  // namespace

DecryptStatus parse_decrypt_status(const std::vector<std::string>& lines) {
    DecryptStatus r;
    Signatures sigs{r.signatures};
    for (const auto& line : lines) {
        const std::size_t sp = line.find(' ');
        const std::string keyword = line.substr(0, sp);
        const auto f = fields_of(sp == std::string::npos ? std::string_view()
                                                         : std::string_view(line).substr(sp + 1));
        if (keyword == "DECRYPTION_OKAY") {
            r.okay = true;
        } else if (keyword == "DECRYPTION_FAILED" || keyword == "BADMDC") {
            r.failed = true;
        } else if (keyword == "DECRYPTION_INFO") {
            // DECRYPTION_INFO <mdc_method> <sym_algo> [<aead_algo>]
            const long mdc = number(f, 0);
            const long aead = number(f, 2);
            r.cipher = cipher_name(static_cast<int>(number(f, 1)), static_cast<int>(aead),
                                   static_cast<int>(mdc));
            r.integrity = mdc != 0 || aead != 0;
            r.no_integrity = !r.integrity;
        } else if (keyword == "ERROR") {
            if (f.size() >= 2 && f[0] == "pkdecrypt_failed" && r.pkdecrypt == 0) {
                r.pkdecrypt = token_error(error_code(f[1]));
            } else if (!f.empty() && f[0] == "nomdc_with_legacy_cipher") {
                r.no_integrity = true;
            }
        } else if (keyword == "FAILURE") {
            if (f.size() >= 2) r.failure = error_code(f[1]);
        } else if (keyword == "ENC_TO") {
            if (!f.empty()) r.recipients.push_back(f[0]);
        } else if (keyword == "NO_SECKEY") {
            r.any_no_seckey = true;
        } else {
            on_signature_line(keyword, f, sigs);
        }
    }
    // A NEWSIG that no verdict line followed is not a signature GPGME would report.
    if (sigs.open && !r.signatures.empty()) r.signatures.pop_back();
    if (r.no_integrity) r.integrity = false;
    return r;
}

gpgme_error_t decrypt_error(const DecryptStatus& s) {
    // As GPGME's decrypt status handler decides at gpg's end of output.
    if (s.failed && s.pkdecrypt != 0) return s.pkdecrypt;
    if (s.failed && s.any_no_seckey) return gpg_error(GPG_ERR_NO_SECKEY);
    if (s.failed) return gpg_error(GPG_ERR_DECRYPT_FAILED);
    if (!s.okay) return gpg_error(GPG_ERR_NO_DATA);
    return s.failure;
}

}  // namespace keyfence::mail::pgp
