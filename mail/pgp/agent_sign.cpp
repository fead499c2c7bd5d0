#include "mail/pgp/agent_sign.hpp"

#include <gcrypt.h>

#include <memory>
#include <mutex>

#include "base/hex.hpp"
#include "mail/pgp/agent_connection.hpp"
#include "mail/pgp/gpg_error.hpp"
#include "mail/pgp/signature_packet.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// A signature value is a few hundred bytes; more than this from the agent is not one.
constexpr std::size_t k_max_sig_val = 64 * 1024;

struct Signing {
    PassphraseAnswerer& answerer;
    std::string sig_val;
    bool too_long = false;
};

gpgme_error_t collect(void* opaque, const void* data, std::size_t length) noexcept {
    auto* s = static_cast<Signing*>(opaque);
    if (s->sig_val.size() + length > k_max_sig_val) {
        s->too_long = true;
        return gpg_error(GPG_ERR_TOO_LARGE);
    }
    try {
        s->sig_val.append(static_cast<const char*>(data), length);
    } catch (...) {
        return gpg_error(GPG_ERR_ENOMEM);
    }
    return 0;
}

// The agent's PIN request (loopback): the PIN from the once-only answerer, lent to GPGME
// without a copy; any other inquiry is refused.
gpgme_error_t inquire(void* opaque, const char* name, const char* /*args*/,
                      gpgme_data_t* r_data) noexcept {
    try {
        if (name == nullptr) {  // GPGME hands the data back to be released
            if (r_data != nullptr && *r_data != nullptr) gpgme_data_release(*r_data);
            return 0;
        }
        if (std::string_view(name) != "PASSPHRASE") return gpg_error(GPG_ERR_ASS_UNKNOWN_INQUIRE);
        auto* s = static_cast<Signing*>(opaque);
        std::span<const std::uint8_t> pin;
        if (const gpgme_error_t refused = s->answerer.answer_inquiry(PassphraseQuestion{}, pin);
            refused != 0) {
            return refused;
        }
        if (gpgme_data_new_from_mem(r_data, reinterpret_cast<const char*>(pin.data()), pin.size(),
                                    0) != 0) {
            return gpg_error(GPG_ERR_ENOMEM);
        }
        return 0;
    } catch (...) {
        return gpg_error(GPG_ERR_CANCELED);
    }
}

struct SexpDeleter {
    void operator()(gcry_sexp_t s) const noexcept { gcry_sexp_release(s); }
};
using SexpPtr = std::unique_ptr<gcry_sexp, SexpDeleter>;

void init_gcrypt() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Only S-expression parsing is used: no secure memory, no random pool.
        (void)gcry_check_version(nullptr);
        gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    });
}
}  // namespace

base::Result<std::string> agent_sign_digest(const std::string& homedir, const std::string& keygrip,
                                            int hash_algo, std::span<const std::uint8_t> digest,
                                            PassphraseAnswerer& answerer) {
    KEYFENCE_TRY_ASSIGN(agent, agent_context(homedir));
    if (auto err = agent_transact(agent.get(), "SIGKEY " + keygrip); err != 0) {
        return gpg_error(err, "gpg-agent has no secret key " + keygrip, ErrorCode::KeyNotFound);
    }
    if (auto err = agent_transact(
            agent.get(), "SETHASH " + std::to_string(hash_algo) + " " + base::to_hex(digest));
        err != 0) {
        return gpg_error(err, "gpg-agent refused the digest", ErrorCode::ModuleFailure);
    }
    Signing signing{answerer, {}, false};
    const gpgme_error_t err =
        agent_transact(agent.get(), "PKSIGN", collect, &signing, inquire, &signing);
    if (err != 0) return gpg_error(err, "the token did not sign", ErrorCode::ModuleFailure);
    if (signing.too_long || signing.sig_val.empty()) {
        return base::Error(ErrorCode::ModuleFailure, "gpg-agent returned no signature");
    }
    return std::move(signing.sig_val);
}

base::Result<std::vector<std::string>> rsa_signature_mpis(std::string_view sig_val) {
    init_gcrypt();
    const base::Error not_rsa(ErrorCode::ModuleFailure,
                              "gpg-agent's signature is not an RSA signature value");
    // libgcrypt reads the length prefixes with atoi: the text it scans must end in a NUL, and a
    // length of 0 would make it measure the buffer itself.
    if (sig_val.empty()) return not_rsa;
    const std::string text(sig_val);
    gcry_sexp_t raw = nullptr;
    if (gcry_sexp_new(&raw, text.c_str(), text.size(), 0) != 0) return not_rsa;
    SexpPtr whole(raw);
    std::size_t n = 0;
    const char* head = gcry_sexp_nth_data(whole.get(), 0, &n);
    if (head == nullptr || std::string_view(head, n) != "sig-val") return not_rsa;
    SexpPtr rsa(gcry_sexp_find_token(whole.get(), "rsa", 0));
    SexpPtr s(rsa ? gcry_sexp_find_token(rsa.get(), "s", 0) : nullptr);
    const char* value = s ? gcry_sexp_nth_data(s.get(), 1, &n) : nullptr;
    if (value == nullptr || n == 0) return not_rsa;
    const std::string m = mpi(std::span(reinterpret_cast<const std::uint8_t*>(value), n));
    if (m.size() <= 2) return not_rsa;  // zero is no RSA signature
    return std::vector<std::string>{m};
}

}  // namespace keyfence::mail::pgp
