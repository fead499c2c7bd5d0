#include "mail/pgp/card_attributes.hpp"

#include <array>
#include <optional>

#include "base/logger.hpp"
#include "mail/gpgme_handles.hpp"
#include "mail/pgp/agent_connection.hpp"
#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

// What scdaemon's change_keyattr_from_string() takes for each slot (after "--force KEYNO"):
// the OpenPGP public-key algorithm (RFC 4880 §9.1: 1 RSA, 18 ECDH, 19 ECDSA, 22 EdDSA) and
// "rsaBITS" or GnuPG's curve name. Slot order: signature, decryption, authentication.
using SlotAttributes = std::array<const char*, 3>;

std::optional<SlotAttributes> slot_attributes(const std::string& algo) {
    if (algo == "rsa2048") return SlotAttributes{"1 rsa2048", "1 rsa2048", "1 rsa2048"};
    if (algo == "rsa4096") return SlotAttributes{"1 rsa4096", "1 rsa4096", "1 rsa4096"};
    if (algo == "nistp256") return SlotAttributes{"19 nistp256", "18 nistp256", "19 nistp256"};
    if (algo == "ed25519") return SlotAttributes{"22 ed25519", "18 cv25519", "22 ed25519"};
    return std::nullopt;
}

// Assuan data lines escape '%', CR, LF; gpg's call-agent turns spaces into '+' (percent-plus
// escaping, which scdaemon's cmd_setattr undoes).
std::string plus_escaped(const std::string& s) {
    std::string out;
    for (char c : s) out += c == ' ' ? std::string("+") : std::string(1, c);
    return out;
}

// The admin PIN for the agent's INQUIRE PASSPHRASE (loopback PIN entry), once per SETATTR:
// a second inquiry within one command means the card refused the PIN, and is cancelled.
struct Inquiry {
    const AdminPinFn& source;
    std::optional<base::Pin> pin;  ///< asked once, given again only after the card accepted it
    bool accepted = false;
    int asked_in_command = 0;
    std::optional<base::Error> source_error;
};

gpgme_error_t inquire(void* opaque, const char* name, const char* /*args*/,
                      gpgme_data_t* r_data) noexcept {
    try {
        auto* q = static_cast<Inquiry*>(opaque);
        if (name == nullptr) {  // GPGME hands the data back to be released
            if (r_data != nullptr && *r_data != nullptr) gpgme_data_release(*r_data);
            return 0;
        }
        if (std::string(name) != "PASSPHRASE") return gpg_error(GPG_ERR_ASS_UNKNOWN_INQUIRE);
        if (++q->asked_in_command > 1) return gpg_error(GPG_ERR_CANCELED);
        if (!q->pin) {
            auto pin = q->source();
            if (!pin) {
                q->source_error = std::move(pin).error();
                return gpg_error(GPG_ERR_CANCELED);
            }
            q->pin.emplace(std::move(*pin));
        } else if (!q->accepted) {
            return gpg_error(GPG_ERR_CANCELED);
        }
        const auto bytes = q->pin->bytes();
        // No copy: the data object points into the PIN's locked memory, which outlives it.
        if (gpgme_data_new_from_mem(r_data, reinterpret_cast<const char*>(bytes.data()),
                                    bytes.size(), 0) != 0) {
            return gpg_error(GPG_ERR_ENOMEM);
        }
        return 0;
    } catch (...) {
        return gpg_error(GPG_ERR_CANCELED);
    }
}

}  // namespace

bool is_card_algorithm(const std::string& algo) {
    return slot_attributes(algo).has_value();
}

base::Result<std::optional<base::Pin>> set_card_algorithm(const std::string& homedir,
                                                          const std::string& algo,
                                                          const AdminPinFn& admin_pin) {
    const auto slots = slot_attributes(algo);
    if (!slots) return base::Error(ErrorCode::BadInput, "unknown card algorithm " + algo);
    KEYFENCE_TRY_ASSIGN(ctx, agent_context(homedir));
    Inquiry inquiry{admin_pin};
    for (std::size_t i = 0; i < slots->size(); ++i) {
        // OpenPGP card 3.4 §4.4.3.9; "--force": the key in the slot is lost (scdaemon insists).
        const std::string value = "--force " + std::to_string(i + 1) + " " + (*slots)[i];
        inquiry.asked_in_command = 0;
        const gpgme_error_t err =
            agent_transact(ctx.get(), "SCD SETATTR KEY-ATTR " + plus_escaped(value), nullptr,
                           nullptr, inquire, &inquiry);
        if (inquiry.source_error) return std::move(*inquiry.source_error);
        if (err != 0) {
            const auto code = gpg_err_code(err);
            if (code == GPG_ERR_NOT_SUPPORTED || code == GPG_ERR_UNSUPPORTED_OPERATION) {
                return gpg_error(err, "the card cannot change its key algorithm",
                                 ErrorCode::Unsupported);
            }
            return gpg_error(err, "the card did not take the key algorithm " + algo,
                             ErrorCode::ModuleFailure);
        }
        base::log_debug("card key attributes set: slot ", i + 1, " ", (*slots)[i]);
        inquiry.accepted = inquiry.pin.has_value();
    }
    return std::move(inquiry.pin);
}

}  // namespace keyfence::mail::pgp
