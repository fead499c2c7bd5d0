#pragma once
// What Keyfence knows about one slot and its token, read fresh from the module.

#include <memory>
#include <string>

#include "base/result.hpp"
#include "token/pkcs11/module.hpp"

namespace keyfence::token::pkcs11 {

/// The token's login and PIN state (PKCS#11 3.0 §3.2 CK_TOKEN_INFO flags).
struct PinFlags {
    bool login_required = false;        ///< CKF_LOGIN_REQUIRED
    bool protected_auth_path = false;   ///< CKF_PROTECTED_AUTHENTICATION_PATH: a PIN pad
    bool count_low = false;             ///< CKF_USER_PIN_COUNT_LOW: a wrong PIN was entered
    bool final_try = false;             ///< CKF_USER_PIN_FINAL_TRY: one try left
    bool locked = false;                ///< CKF_USER_PIN_LOCKED
    bool to_be_changed = false;         ///< CKF_USER_PIN_TO_BE_CHANGED
    bool initialized = false;           ///< CKF_TOKEN_INITIALIZED
    bool user_pin_initialized = false;  ///< CKF_USER_PIN_INITIALIZED

    static PinFlags from(CK_FLAGS flags) noexcept;
};

struct TokenInfo {
    std::string module_path;
    CK_SLOT_ID slot_id = 0;
    std::string slot_description;
    std::string slot_manufacturer;
    bool present = false;        ///< CKF_TOKEN_PRESENT in the slot
    bool removable = false;      ///< CKF_REMOVABLE_DEVICE
    bool hardware_slot = false;  ///< CKF_HW_SLOT
    // The rest is only meaningful when `present`.
    std::string label;
    std::string manufacturer;
    std::string model;
    std::string serial;
    PinFlags pin;
    CK_ULONG min_pin_length = 0;
    CK_ULONG max_pin_length = 0;
    std::string uri;        ///< RFC 7512 token URI
    bool software = false;  ///< a software token, not hardware (see software_reason)
    std::string software_reason;
    bool demo = false;    ///< Keyfence's own demo token
    CK_TOKEN_INFO raw{};  ///< as read, for URI matching
};

/// Label prefix of the demo token that ./scripts/demo creates. A token with this label is
/// treated as the software demo token everywhere (shown as such, refused outside demo mode).
inline constexpr std::string_view k_demo_token_label = "keyfence-demo";

/// Reads slot and token information now (C_GetSlotInfo, C_GetTokenInfo).
base::Result<TokenInfo> read_token_info(const Module& module, CK_SLOT_ID slot);

}  // namespace keyfence::token::pkcs11
