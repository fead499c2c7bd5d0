#pragma once
// Session: one PKCS#11 session, closed on destruction. Login state belongs to the application,
// not the session (PKCS#11 3.0 §5.6): a login on this session logs in every session of this
// process on the token, libp11's included.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "token/pkcs11/module.hpp"
#include "token/pkcs11/token_info.hpp"

namespace keyfence::token::pkcs11 {

class Session {
  public:
    /// Opens a serial session on `slot`, read-only unless `read_write` (needed to create token
    /// objects, PKCS#11 3.0 §5.6 C_OpenSession). Errors map from C_OpenSession.
    static base::Result<Session> open(std::shared_ptr<Module> module, CK_SLOT_ID slot,
                                      bool read_write = false);

    Session(Session&& other) noexcept;
    Session& operator=(Session&&) = delete;
    Session(const Session&) = delete;  // two owners would close the session twice
    Session& operator=(const Session&) = delete;
    ~Session();

    CK_SESSION_HANDLE handle() const noexcept { return m_handle; }
    CK_SLOT_ID slot() const noexcept { return m_slot; }
    CK_FUNCTION_LIST* functions() const noexcept { return m_module->functions(); }
    const std::shared_ptr<Module>& module() const noexcept { return m_module; }

    /// Reads the token's information now, including fresh PIN flags.
    base::Result<TokenInfo> token_info() const;
    /// True when the user is logged in (C_GetSessionInfo).
    base::Result<bool> user_logged_in() const;

    /// C_FindObjects over `tmpl`.
    base::Result<std::vector<CK_OBJECT_HANDLE>> find(std::span<CK_ATTRIBUTE> tmpl) const;
    /// An attribute's bytes; nullopt when the object has no such attribute or it is sensitive.
    base::Result<std::optional<std::vector<std::uint8_t>>> attribute(CK_OBJECT_HANDLE object,
                                                                     CK_ATTRIBUTE_TYPE type) const;
    /// A CK_BBOOL attribute, or `fallback` when absent.
    bool bool_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, bool fallback) const;
    /// A CK_ULONG attribute, or nullopt when absent.
    std::optional<CK_ULONG> ulong_attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;

    /// The mechanisms the token offers (C_GetMechanismList).
    base::Result<std::vector<CK_MECHANISM_TYPE>> mechanisms() const;

    /// C_Login with `pin`, or with no PIN on a protected authentication path (PIN pad) when
    /// `pin` is empty and `pin_pad` is true. Never retried. Returns the raw CK_RV error mapped.
    base::Status login(CK_USER_TYPE user, std::span<const std::uint8_t> pin, bool pin_pad);
    /// C_Logout; errors are ignored (the caller is ending the session anyway).
    void logout() noexcept;

  private:
    Session(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_SESSION_HANDLE handle)
        : m_module(std::move(module)), m_slot(slot), m_handle(handle) {}

    std::shared_ptr<Module> m_module;
    CK_SLOT_ID m_slot = 0;
    CK_SESSION_HANDLE m_handle = CK_INVALID_HANDLE;
};

}  // namespace keyfence::token::pkcs11
