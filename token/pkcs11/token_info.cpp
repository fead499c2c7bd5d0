#include "token/pkcs11/token_info.hpp"

#include <array>

#include "token/pkcs11/ckr.hpp"
#include "token/pkcs11/uri.hpp"

namespace keyfence::token::pkcs11 {
namespace {

struct SoftwareToken {
    std::string_view manufacturer;  // empty: any
    std::string_view model;         // empty: any
    std::string_view reason;
};

// Tokens whose keys live in software on this computer. A key on one of these is no better
// protected than a passphrase-protected key file, so they are labelled everywhere they are
// shown, and the policy can refuse them.
constexpr std::array k_software_tokens = {
    SoftwareToken{"SoftHSM project", "", "SoftHSM keeps its keys in files on this computer"},
    SoftwareToken{"PKCS#11 Kit", "p11-kit-trust", "the system trust store (certificates only)"},
    SoftwareToken{"Mozilla Foundation", "NSS 3", "NSS's software token"},
    SoftwareToken{"", "Keyfence vcard", "keyfence-vcard, the virtual test card"},
};

void classify(TokenInfo& token) {
    for (const SoftwareToken& s : k_software_tokens) {
        const bool maker = s.manufacturer.empty() || token.manufacturer == s.manufacturer;
        const bool model = s.model.empty() || token.model.starts_with(s.model);
        if (maker && model) {
            token.software = true;
            token.software_reason = std::string(s.reason);
        }
    }
    // OpenSC's view of an OpenPGP card: its serial is manufacturer + serial in hex; the
    // manufacturer range FF00-FFFF is unregistered test cards (keyfence-vcard uses FFFE).
    if (token.manufacturer == "OpenPGP project" && token.serial.size() == 12 &&
        (token.serial.starts_with("ff") || token.serial.starts_with("FF"))) {
        token.software = true;
        token.software_reason =
            "an OpenPGP test card (unregistered manufacturer range), such as "
            "keyfence-vcard";
    }
    if (token.label.starts_with(k_demo_token_label)) {
        token.demo = true;
        token.software = true;
        token.software_reason = "Keyfence's software demo token; its keys are files on disk";
    }
}
}  // namespace

PinFlags PinFlags::from(CK_FLAGS f) noexcept {
    PinFlags p;
    p.login_required = (f & CKF_LOGIN_REQUIRED) != 0;
    p.protected_auth_path = (f & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
    p.count_low = (f & CKF_USER_PIN_COUNT_LOW) != 0;
    p.final_try = (f & CKF_USER_PIN_FINAL_TRY) != 0;
    p.locked = (f & CKF_USER_PIN_LOCKED) != 0;
    p.to_be_changed = (f & CKF_USER_PIN_TO_BE_CHANGED) != 0;
    p.initialized = (f & CKF_TOKEN_INITIALIZED) != 0;
    p.user_pin_initialized = (f & CKF_USER_PIN_INITIALIZED) != 0;
    return p;
}

base::Result<TokenInfo> read_token_info(const Module& module, CK_SLOT_ID slot) {
    TokenInfo token;
    token.module_path = module.path();
    token.slot_id = slot;
    CK_SLOT_INFO slot_info{};
    if (CK_RV rv = module.functions()->C_GetSlotInfo(slot, &slot_info); rv != CKR_OK) {
        return pkcs11_error(rv,
                            "could not read slot " + std::to_string(slot) + " of " + module.path());
    }
    token.slot_description =
        trim_field(slot_info.slotDescription, sizeof slot_info.slotDescription);
    token.slot_manufacturer = trim_field(slot_info.manufacturerID, sizeof slot_info.manufacturerID);
    token.present = (slot_info.flags & CKF_TOKEN_PRESENT) != 0;
    token.removable = (slot_info.flags & CKF_REMOVABLE_DEVICE) != 0;
    token.hardware_slot = (slot_info.flags & CKF_HW_SLOT) != 0;
    if (!token.present) return token;

    CK_TOKEN_INFO info{};
    CK_RV rv = module.functions()->C_GetTokenInfo(slot, &info);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED) {
        token.present = rv != CKR_TOKEN_NOT_PRESENT;
        return token;
    }
    if (rv != CKR_OK)
        return pkcs11_error(rv, "could not read the token in " + token.slot_description);
    token.label = trim_field(info.label, sizeof info.label);
    token.manufacturer = trim_field(info.manufacturerID, sizeof info.manufacturerID);
    token.model = trim_field(info.model, sizeof info.model);
    token.serial = trim_field(info.serialNumber, sizeof info.serialNumber);
    token.pin = PinFlags::from(info.flags);
    token.min_pin_length = info.ulMinPinLen;
    token.max_pin_length = info.ulMaxPinLen;
    token.uri = format_token_uri(info);
    token.raw = info;
    classify(token);
    return token;
}

}  // namespace keyfence::token::pkcs11
