#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

ErrorCode code_for(gpg_err_code_t code, ErrorCode fallback) {
    switch (code) {
        case GPG_ERR_BAD_PIN:
        case GPG_ERR_BAD_PASSPHRASE:
            return ErrorCode::PinIncorrect;
        case GPG_ERR_PIN_BLOCKED:
            return ErrorCode::PinLocked;
        case GPG_ERR_CANCELED:
        case GPG_ERR_FULLY_CANCELED:
            return ErrorCode::Cancelled;
        case GPG_ERR_NO_SECKEY:
        case GPG_ERR_NO_PUBKEY:
        case GPG_ERR_UNUSABLE_PUBKEY:
        case GPG_ERR_UNUSABLE_SECKEY:
            return ErrorCode::KeyNotFound;
        case GPG_ERR_AMBIGUOUS_NAME:
            return ErrorCode::Ambiguous;
        case GPG_ERR_BAD_SIGNATURE:
            return ErrorCode::VerifyFailed;
        case GPG_ERR_DECRYPT_FAILED:
        case GPG_ERR_NO_DATA:
        case GPG_ERR_INV_DATA:
        case GPG_ERR_BAD_DATA:
        case GPG_ERR_INV_PACKET:
        case GPG_ERR_INV_ARMOR:
        case GPG_ERR_BAD_MPI:
        case GPG_ERR_UNEXPECTED:
        case GPG_ERR_TRUNCATED:
            return ErrorCode::BadInput;
        case GPG_ERR_CARD_NOT_PRESENT:
        case GPG_ERR_CARD:
            return ErrorCode::TokenAbsent;
        case GPG_ERR_CARD_REMOVED:
        case GPG_ERR_CARD_RESET:
            return ErrorCode::TokenRemoved;
        case GPG_ERR_UNSUPPORTED_ALGORITHM:
        case GPG_ERR_PUBKEY_ALGO:
        case GPG_ERR_CIPHER_ALGO:
        case GPG_ERR_DIGEST_ALGO:
            return ErrorCode::Unsupported;
        default:
            return fallback;
    }
}
}  // namespace

base::Error gpg_error(gpgme_error_t err, std::string context, base::ErrorCode fallback) {
    const gpg_err_code_t code = gpg_err_code(err);
    base::Error e(code_for(code, fallback), std::move(context));
    e.from(base::Origin::Gpgme, err, gpgme_strerror(err));
    return e;
}

}  // namespace keyfence::mail::pgp
