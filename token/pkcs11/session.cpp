#include "token/pkcs11/session.hpp"

#include <utility>

#include "token/pkcs11/ckr.hpp"

namespace keyfence::token::pkcs11 {

base::Result<Session> Session::open(std::shared_ptr<Module> module, CK_SLOT_ID slot,
                                    bool read_write) {
    CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
    const CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
    CK_RV rv = module->functions()->C_OpenSession(slot, flags, nullptr, nullptr, &handle);
    if (rv != CKR_OK) return pkcs11_error(rv, "could not open a session with the token");
    return Session(std::move(module), slot, handle);
}

Session::Session(Session&& other) noexcept
    : m_module(std::move(other.m_module)),
      m_slot(other.m_slot),
      m_handle(std::exchange(other.m_handle, CK_INVALID_HANDLE)) {}

Session::~Session() {
    if (m_handle != CK_INVALID_HANDLE) m_module->functions()->C_CloseSession(m_handle);
}

base::Result<TokenInfo> Session::token_info() const {
    return read_token_info(*m_module, m_slot);
}

base::Result<bool> Session::user_logged_in() const {
    CK_SESSION_INFO info{};
    if (CK_RV rv = functions()->C_GetSessionInfo(m_handle, &info); rv != CKR_OK) {
        return pkcs11_error(rv, "could not read the session state");
    }
    return info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
}

base::Result<std::vector<CK_OBJECT_HANDLE>> Session::find(std::span<CK_ATTRIBUTE> tmpl) const {
    if (CK_RV rv = functions()->C_FindObjectsInit(m_handle, tmpl.data(), tmpl.size());
        rv != CKR_OK) {
        return pkcs11_error(rv, "could not search the token's objects");
    }
    std::vector<CK_OBJECT_HANDLE> found;
    CK_OBJECT_HANDLE batch[64];
    for (;;) {
        CK_ULONG count = 0;
        CK_RV rv = functions()->C_FindObjects(m_handle, batch, 64, &count);
        if (rv != CKR_OK) {
            functions()->C_FindObjectsFinal(m_handle);
            return pkcs11_error(rv, "could not search the token's objects");
        }
        if (count == 0) break;
        found.insert(found.end(), batch, batch + count);
    }
    functions()->C_FindObjectsFinal(m_handle);
    return found;
}

base::Result<std::optional<std::vector<std::uint8_t>>> Session::attribute(
    CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
    CK_ATTRIBUTE attr{type, nullptr, 0};
    CK_RV rv = functions()->C_GetAttributeValue(m_handle, object, &attr, 1);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
        attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        return std::optional<std::vector<std::uint8_t>>();
    }
    if (rv != CKR_OK) return pkcs11_error(rv, "could not read an object attribute");
    std::vector<std::uint8_t> value(attr.ulValueLen);
    attr.pValue = value.data();
    rv = functions()->C_GetAttributeValue(m_handle, object, &attr, 1);
    if (rv != CKR_OK) return pkcs11_error(rv, "could not read an object attribute");
    value.resize(attr.ulValueLen);
    return std::optional<std::vector<std::uint8_t>>(std::move(value));
}

bool Session::bool_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, bool fallback) const {
    CK_BBOOL value = CK_FALSE;
    CK_ATTRIBUTE attr{type, &value, sizeof value};
    if (functions()->C_GetAttributeValue(m_handle, object, &attr, 1) != CKR_OK) return fallback;
    return value == CK_TRUE;
}

std::optional<CK_ULONG> Session::ulong_attribute(CK_OBJECT_HANDLE object,
                                                 CK_ATTRIBUTE_TYPE type) const {
    CK_ULONG value = 0;
    CK_ATTRIBUTE attr{type, &value, sizeof value};
    if (functions()->C_GetAttributeValue(m_handle, object, &attr, 1) != CKR_OK) return {};
    return value;
}

base::Result<std::vector<CK_MECHANISM_TYPE>> Session::mechanisms() const {
    CK_ULONG count = 0;
    if (CK_RV rv = functions()->C_GetMechanismList(m_slot, nullptr, &count); rv != CKR_OK) {
        return pkcs11_error(rv, "could not list the token's mechanisms");
    }
    std::vector<CK_MECHANISM_TYPE> list(count);
    if (CK_RV rv = functions()->C_GetMechanismList(m_slot, list.data(), &count); rv != CKR_OK) {
        return pkcs11_error(rv, "could not list the token's mechanisms");
    }
    list.resize(count);
    return list;
}

base::Status Session::login(CK_USER_TYPE user, std::span<const std::uint8_t> pin, bool pin_pad) {
    // PKCS#11 3.0 §5.6 C_Login: a NULL PIN with a protected authentication path makes the
    // token take the PIN from its own pad. The module gets a pointer into locked memory; no
    // copy of the PIN is made here.
    CK_UTF8CHAR_PTR pin_ptr =
        pin_pad ? nullptr
                : const_cast<CK_UTF8CHAR_PTR>(reinterpret_cast<const CK_UTF8CHAR*>(pin.data()));
    const CK_ULONG pin_len = pin_pad ? 0 : pin.size();
    const CK_RV rv = functions()->C_Login(m_handle, user, pin_ptr, pin_len);
    if (rv == CKR_OK || (rv == CKR_USER_ALREADY_LOGGED_IN && user != CKU_CONTEXT_SPECIFIC)) {
        return {};
    }
    return pkcs11_error(rv, user == CKU_CONTEXT_SPECIFIC ? "the key's own PIN check failed"
                                                         : "the token refused the login");
}

void Session::logout() noexcept {
    functions()->C_Logout(m_handle);
}

}  // namespace keyfence::token::pkcs11
