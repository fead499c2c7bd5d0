#include "token/pin/lockout_guard.hpp"

namespace keyfence::token {
namespace {
std::string token_name(const pkcs11::TokenInfo& token) {
    return "'" + token.label + "' (" + token.model + ", serial " + token.serial + ")";
}

constexpr const char* k_unblock_hint =
    "unblock the PIN with the token's PUK or security-officer PIN, for example "
    "'pkcs11-tool --login --login-type so --init-pin' (PKCS#11), 'yubico-piv-tool -a unblock-pin' "
    "(YubiKey PIV) or 'gpg --card-edit' then 'admin' and 'passwd' (OpenPGP card)";
}  // namespace

base::Status check_lockout(const pkcs11::TokenInfo& token, const LockoutOptions& options) {
    if (token.pin.locked) {
        base::Error e(base::ErrorCode::PinLocked,
                      "the user PIN of " + token_name(token) + " is locked; no PIN was sent",
                      k_unblock_hint);
        e.retries_left = 0;
        return e;
    }
    if (token.pin.final_try && !options.allow_last_pin_try) {
        base::Error e(base::ErrorCode::LastTryRefused,
                      "only one PIN try is left on " + token_name(token) +
                          "; Keyfence will not spend it without your say-so",
                      "if you are sure of the PIN, run the command again with "
                      "--allow-last-pin-try; a wrong PIN then locks the token");
        e.retries_left = 1;
        return e;
    }
    return {};
}

base::Error rejected_pin_error(const pkcs11::TokenInfo& after, base::Error token_error) {
    if (after.pin.locked || token_error.code == base::ErrorCode::PinLocked) {
        token_error.code = base::ErrorCode::PinLocked;
        token_error.context = "the PIN was wrong and " + token_name(after) + " is now locked";
        token_error.hint = k_unblock_hint;
        token_error.retries_left = 0;
        return token_error;
    }
    token_error.context = "the PIN was wrong for " + token_name(after) + "; one try was spent";
    if (after.pin.final_try) {
        token_error.retries_left = 1;
        token_error.hint =
            "only one try is left: Keyfence will refuse to spend it unless you "
            "pass --allow-last-pin-try";
    } else {
        token_error.hint =
            "check the PIN and run the command again; Keyfence never retries a "
            "PIN by itself";
    }
    return token_error;
}

}  // namespace keyfence::token
