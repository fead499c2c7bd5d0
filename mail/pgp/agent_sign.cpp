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

// A signature value or public key is a few hundred bytes; more from the agent is not one.
constexpr std::size_t k_max_answer = 64 * 1024;

struct Collected {
    std::string bytes;
    bool too_long = false;
};

gpgme_error_t collect(void* opaque, const void* data, std::size_t length) noexcept {
    auto* c = static_cast<Collected*>(opaque);
    if (c->bytes.size() + length > k_max_answer) {
        c->too_long = true;
        return gpg_error(GPG_ERR_TOO_LARGE);
    }
    try {
        c->bytes.append(static_cast<const char*>(data), length);
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
        auto* answerer = static_cast<PassphraseAnswerer*>(opaque);
        std::span<const std::uint8_t> pin;
        if (const gpgme_error_t refused = answerer->answer_inquiry(PassphraseQuestion{}, pin);
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
        // S-expressions and public-key verification only: no secure memory, no random pool.
        (void)gcry_check_version(nullptr);
        gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    });
}

// libgcrypt reads the length prefixes of canonical S-expressions with atoi: the text it scans
// must end in a NUL, and a length of 0 would make it measure the buffer itself.
SexpPtr parse_sexp(std::string_view bytes) {
    if (bytes.empty()) return nullptr;
    const std::string text(bytes);
    gcry_sexp_t raw = nullptr;
    if (gcry_sexp_new(&raw, text.c_str(), text.size(), 0) != 0) return nullptr;
    return SexpPtr(raw);
}

// The data of the second element of the sublist `token` of `list`, or an empty view.
std::string_view value_of(gcry_sexp_t list, const char* token, SexpPtr& holder) {
    holder.reset(list != nullptr ? gcry_sexp_find_token(list, token, 0) : nullptr);
    std::size_t n = 0;
    const char* data = holder ? gcry_sexp_nth_data(holder.get(), 1, &n) : nullptr;
    return data != nullptr ? std::string_view(data, n) : std::string_view();
}

const char* algorithm_name(std::uint8_t pubkey_algo) {
    switch (pubkey_algo) {
        case k_pk_rsa:
        case k_pk_rsa_sign:
            return "rsa";
        case k_pk_ecdsa:
            return "ecdsa";
        case k_pk_eddsa:
            return "eddsa";
        default:
            return nullptr;
    }
}
}  // namespace

base::Result<std::vector<std::string>> signature_mpis(std::string_view sig_val,
                                                      std::uint8_t pubkey_algo) {
    init_gcrypt();
    const char* name = algorithm_name(pubkey_algo);
    if (name == nullptr) {
        return base::Error(
            ErrorCode::Unsupported,
            "no OpenPGP signature for public-key algorithm " + std::to_string(pubkey_algo));
    }
    const base::Error malformed(
        ErrorCode::ModuleFailure,
        std::string("gpg-agent's signature is not an ") + name + " signature value");
    SexpPtr whole = parse_sexp(sig_val);
    if (!whole) return malformed;
    std::size_t n = 0;
    const char* head = gcry_sexp_nth_data(whole.get(), 0, &n);
    if (head == nullptr || std::string_view(head, n) != "sig-val") return malformed;
    SexpPtr algo(gcry_sexp_find_token(whole.get(), name, 0));
    if (!algo) return malformed;
    std::vector<std::string> mpis;
    const bool rsa = pubkey_algo == k_pk_rsa || pubkey_algo == k_pk_rsa_sign;
    for (const char* param : rsa ? std::vector<const char*>{"s"} : std::vector{"r", "s"}) {
        SexpPtr holder;
        const std::string_view value = value_of(algo.get(), param, holder);
        const std::string m =
            mpi(std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
        if (m.size() <= 2) return malformed;  // missing, or zero: no signature
        mpis.push_back(m);
    }
    return mpis;
}

base::Status check_ecc_signature(std::string_view public_key, std::string_view sig_val,
                                 std::uint8_t pubkey_algo, std::span<const std::uint8_t> digest) {
    init_gcrypt();
    const base::Error withheld(ErrorCode::ModuleFailure,
                               "the token's OpenPGP signature does not verify; it was withheld",
                               "check the token and the key binding");
    SexpPtr key = parse_sexp(public_key);
    SexpPtr signature = parse_sexp(sig_val);
    if (!key || !signature) return withheld;
    SexpPtr curve_holder, q_holder;
    const std::string curve(value_of(key.get(), "curve", curve_holder));
    const std::string_view q = value_of(key.get(), "q", q_holder);
    if (curve.empty() || q.empty()) return withheld;
    const bool eddsa = pubkey_algo == k_pk_eddsa;
    // The key as gpg builds it to verify (g10/pkglue.c), and the digest as the data: ECDSA over
    // the hash value, EdDSA with the hash value as its message.
    gcry_sexp_t raw_key = nullptr, raw_data = nullptr;
    const int q_len = static_cast<int>(q.size());
    const int d_len = static_cast<int>(digest.size());
    if ((eddsa
             ? gcry_sexp_build(&raw_key, nullptr, "(public-key(ecc(curve %s)(flags eddsa)(q %b)))",
                               curve.c_str(), q_len, q.data())
             : gcry_sexp_build(&raw_key, nullptr, "(public-key(ecc(curve %s)(q %b)))",
                               curve.c_str(), q_len, q.data())) != 0) {
        return withheld;
    }
    SexpPtr built_key(raw_key);
    if ((eddsa ? gcry_sexp_build(&raw_data, nullptr,
                                 "(data(flags eddsa)(hash-algo sha512)(value %b))", d_len,
                                 digest.data())
               : gcry_sexp_build(&raw_data, nullptr, "(data(flags raw)(value %b))", d_len,
                                 digest.data())) != 0) {
        return withheld;
    }
    SexpPtr data(raw_data);
    if (gcry_pk_verify(signature.get(), data.get(), built_key.get()) != 0) return withheld;
    return {};
}

base::Result<std::vector<std::string>> agent_sign_digest(const std::string& homedir,
                                                         const std::string& keygrip,
                                                         std::uint8_t pubkey_algo, int hash_algo,
                                                         std::span<const std::uint8_t> digest,
                                                         PassphraseAnswerer& answerer) {
    if (algorithm_name(pubkey_algo) == nullptr) {
        return base::Error(ErrorCode::Unsupported, "Keyfence signs with RSA, ECDSA and EdDSA keys");
    }
    KEYFENCE_TRY_ASSIGN(agent, agent_context(homedir));
    if (auto err = agent_transact(agent.get(), "SIGKEY " + keygrip); err != 0) {
        return gpg_error(err, "gpg-agent has no secret key " + keygrip, ErrorCode::KeyNotFound);
    }
    if (auto err = agent_transact(
            agent.get(), "SETHASH " + std::to_string(hash_algo) + " " + base::to_hex(digest));
        err != 0) {
        return gpg_error(err, "gpg-agent refused the digest", ErrorCode::ModuleFailure);
    }
    Collected sig_val;
    const gpgme_error_t err =
        agent_transact(agent.get(), "PKSIGN", collect, &sig_val, inquire, &answerer);
    if (gpg_err_code(err) == GPG_ERR_BAD_SIGNATURE) {
        // The agent's own check of an RSA token signature failed: a faulty token, not a message
        // that does not verify.
        base::Error withheld(ErrorCode::ModuleFailure,
                             "the token's OpenPGP signature does not verify; it was withheld",
                             "check the token and the key binding");
        withheld.from(base::Origin::Gpgme, err, gpgme_strerror(err));
        return withheld;
    }
    if (err != 0) return gpg_error(err, "the token did not sign", ErrorCode::ModuleFailure);
    if (sig_val.too_long || sig_val.bytes.empty()) {
        return base::Error(ErrorCode::ModuleFailure, "gpg-agent returned no signature");
    }
    KEYFENCE_TRY_ASSIGN(mpis, signature_mpis(sig_val.bytes, pubkey_algo));
    if (pubkey_algo == k_pk_ecdsa || pubkey_algo == k_pk_eddsa) {
        Collected public_key;
        if (auto read = agent_transact(agent.get(), "READKEY " + keygrip, collect, &public_key);
            read != 0 || public_key.too_long) {
            return gpg_error(read != 0 ? read : gpg_error(GPG_ERR_TOO_LARGE),
                             "the token's OpenPGP signature cannot be checked; it was withheld",
                             ErrorCode::ModuleFailure);
        }
        KEYFENCE_TRY(check_ecc_signature(public_key.bytes, sig_val.bytes, pubkey_algo, digest));
    }
    return mpis;
}

}  // namespace keyfence::mail::pgp
