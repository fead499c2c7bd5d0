#include "token/pkcs11/ckr.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

// Ordered by value for lookup. Descriptions follow PKCS#11 3.0 §5.1, in words for users.
constexpr std::array k_table = {
    CkrEntry{CKR_OK, "CKR_OK", "success", ErrorCode::Internal},
    CkrEntry{CKR_CANCEL, "CKR_CANCEL", "the operation was cancelled", ErrorCode::Cancelled},
    CkrEntry{CKR_HOST_MEMORY, "CKR_HOST_MEMORY", "the module ran out of memory",
             ErrorCode::ModuleFailure},
    CkrEntry{CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID", "the reader slot no longer exists",
             ErrorCode::TokenRemoved},
    CkrEntry{CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR", "the module reported an unrecoverable error",
             ErrorCode::ModuleFailure},
    CkrEntry{CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED", "the token could not perform the function",
             ErrorCode::ModuleFailure},
    CkrEntry{CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD", "the module rejected the arguments",
             ErrorCode::Unsupported},
    CkrEntry{CKR_NO_EVENT, "CKR_NO_EVENT", "no slot event", ErrorCode::Internal},
    CkrEntry{CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS",
             "the module needs to create threads", ErrorCode::ModuleFailure},
    CkrEntry{CKR_CANT_LOCK, "CKR_CANT_LOCK", "the module cannot use the requested locking",
             ErrorCode::ModuleFailure},
    CkrEntry{CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY", "the attribute is read-only",
             ErrorCode::Unsupported},
    CkrEntry{CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE",
             "the attribute is sensitive and cannot be read", ErrorCode::Unsupported},
    CkrEntry{CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID",
             "the object has no such attribute", ErrorCode::Unsupported},
    CkrEntry{CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID",
             "an attribute value is invalid", ErrorCode::Unsupported},
    CkrEntry{CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED", "the token prohibits this action",
             ErrorCode::PolicyDenied},
    CkrEntry{CKR_DATA_INVALID, "CKR_DATA_INVALID", "the data is invalid for this operation",
             ErrorCode::BadInput},
    CkrEntry{CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE", "the data has the wrong length for this key",
             ErrorCode::BadInput},
    CkrEntry{CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", "the token or reader reported a device error",
             ErrorCode::ModuleFailure},
    CkrEntry{CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY", "the token is out of memory",
             ErrorCode::ModuleFailure},
    CkrEntry{CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED", "the token was removed",
             ErrorCode::TokenRemoved},
    CkrEntry{CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID",
             "the encrypted data is invalid", ErrorCode::BadInput},
    CkrEntry{CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE",
             "the encrypted data has the wrong length", ErrorCode::BadInput},
    CkrEntry{CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED",
             "the operation was cancelled on the token", ErrorCode::Cancelled},
    CkrEntry{CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL",
             "the function cannot run in parallel", ErrorCode::ModuleFailure},
    CkrEntry{CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED",
             "the module does not support this function", ErrorCode::Unsupported},
    CkrEntry{CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID", "the key handle is no longer valid",
             ErrorCode::TokenRemoved},
    CkrEntry{CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE", "the key size is not supported",
             ErrorCode::Unsupported},
    CkrEntry{CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT",
             "the key type does not fit the mechanism", ErrorCode::Unsupported},
    CkrEntry{CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED",
             "the key's usage attributes do not permit this operation", ErrorCode::PolicyDenied},
    CkrEntry{CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID",
             "the token does not support this mechanism", ErrorCode::Unsupported},
    CkrEntry{CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID",
             "the token rejected the mechanism parameters", ErrorCode::Unsupported},
    CkrEntry{CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID",
             "the object handle is no longer valid", ErrorCode::TokenRemoved},
    CkrEntry{CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE",
             "another operation is active on the session", ErrorCode::Internal},
    CkrEntry{CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED",
             "the operation was not initialized", ErrorCode::Internal},
    CkrEntry{CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", "the PIN is incorrect",
             ErrorCode::PinIncorrect},
    CkrEntry{CKR_PIN_INVALID, "CKR_PIN_INVALID",
             "the PIN contains characters the token does not accept", ErrorCode::PinInvalid},
    CkrEntry{CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE",
             "the PIN is too long or too short for the token", ErrorCode::PinInvalid},
    CkrEntry{CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED", "the PIN has expired and must be changed",
             ErrorCode::PinLocked},
    CkrEntry{CKR_PIN_LOCKED, "CKR_PIN_LOCKED", "the PIN is blocked", ErrorCode::PinLocked},
    CkrEntry{CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED", "the session was closed",
             ErrorCode::TokenRemoved},
    CkrEntry{CKR_SESSION_COUNT, "CKR_SESSION_COUNT", "the token has too many open sessions",
             ErrorCode::ModuleFailure},
    CkrEntry{CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID",
             "the session is no longer valid", ErrorCode::TokenRemoved},
    CkrEntry{CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED",
             "the token does not support parallel sessions", ErrorCode::ModuleFailure},
    CkrEntry{CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY", "the session is read-only",
             ErrorCode::Internal},
    CkrEntry{CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS", "a session already exists",
             ErrorCode::Internal},
    CkrEntry{CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS",
             "a read-only session exists", ErrorCode::Internal},
    CkrEntry{CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS",
             "a security-officer session exists", ErrorCode::Internal},
    CkrEntry{CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID", "the signature is invalid",
             ErrorCode::VerifyFailed},
    CkrEntry{CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE",
             "the signature has the wrong length", ErrorCode::VerifyFailed},
    CkrEntry{CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE",
             "the object template is incomplete", ErrorCode::Internal},
    CkrEntry{CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT",
             "the object template is inconsistent", ErrorCode::Internal},
    CkrEntry{CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT", "no token is present in the reader",
             ErrorCode::TokenAbsent},
    CkrEntry{CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED",
             "the module does not recognize the token", ErrorCode::Unsupported},
    CkrEntry{CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED", "the token is write-protected",
             ErrorCode::PolicyDenied},
    CkrEntry{CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN",
             "the user is already logged in", ErrorCode::Internal},
    CkrEntry{CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN", "the token needs a PIN login first",
             ErrorCode::Internal},
    CkrEntry{CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED",
             "the token's user PIN was never set", ErrorCode::PinLocked},
    CkrEntry{CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID", "the user type is invalid",
             ErrorCode::Internal},
    CkrEntry{CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
             "another user is logged in to the token", ErrorCode::ModuleFailure},
    CkrEntry{CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES",
             "too many user types are logged in", ErrorCode::ModuleFailure},
    CkrEntry{CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL", "the output buffer is too small",
             ErrorCode::Internal},
    CkrEntry{CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED",
             "the module is not initialized", ErrorCode::Internal},
    CkrEntry{CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED",
             "the module was already initialized", ErrorCode::Internal},
    CkrEntry{CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED",
             "the token or its user rejected the operation", ErrorCode::Cancelled},
};

constexpr CkrEntry k_unknown{0, "CKR_UNKNOWN", "the module returned an unknown error",
                             ErrorCode::ModuleFailure};
}  // namespace

const CkrEntry& ckr_entry(CK_RV rv) noexcept {
    const auto* it = std::find_if(k_table.begin(), k_table.end(),
                                  [rv](const CkrEntry& e) { return e.value == rv; });
    return it != k_table.end() ? *it : k_unknown;
}

base::Error pkcs11_error(CK_RV rv, std::string_view context) {
    const CkrEntry& entry = ckr_entry(rv);
    base::Error error(entry.code, std::string(context) + ": " + std::string(entry.description));
    std::string name(entry.name);
    if (&entry == &k_unknown) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
        name = buf;
    }
    error.from(base::Origin::Pkcs11, rv, name);
    return error;
}

}  // namespace keyfence::token::pkcs11
