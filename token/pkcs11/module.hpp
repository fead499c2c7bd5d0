#pragma once
// Module: one loaded PKCS#11 module. libp11 loads and initializes it (PKCS11_CTX_load), so the
// EVP_PKEY that libp11 hands out for OpenSSL (S/MIME) and Keyfence's own calls share one
// initialized module. Keyfence also borrows the module's function list for what libp11 does not
// offer: fresh token flags for the lockout guard (libp11 caches token info from enumeration),
// object usages and CKA_ALWAYS_AUTHENTICATE (libp11 0.4.12 exposes neither), tokens that hold
// EdDSA keys (libp11 0.4.12 fails to enumerate any key on them), and C_Login with a PIN that
// stays in locked memory (PKCS11_login takes a C string and keeps a heap copy for re-login).

#include <libp11.h>

#include <memory>
#include <string>
#include <vector>

#include "base/handles.hpp"
#include "base/result.hpp"
#include "token/pkcs11/pkcs11.hpp"

namespace keyfence::token::pkcs11 {

/// A libp11 context, freed on destruction (Module unloads it first when it was loaded:
/// PKCS11_CTX_unload on a context whose load failed crashes libp11 0.4.12).
using Pkcs11CtxPtr = base::CPtr<PKCS11_CTX, &PKCS11_CTX_free>;

/// Library information from C_GetInfo.
struct ModuleInfo {
    std::string path;
    std::string description;
    std::string manufacturer;
    std::string library_version;
    std::string cryptoki_version;
};

/// A loaded, initialized module. Move-only through shared_ptr: sessions and leases keep it alive.
/// Thread-safe as far as the module is (libp11 initializes it with CKF_OS_LOCKING_OK).
class Module {
  public:
    /// Loads the module at `path`. Errors: ModuleFailure with the reason libp11 or dlopen gave.
    static base::Result<std::shared_ptr<Module>> load(const std::string& path);

    ~Module();
    Module(const Module&) = delete;  // one owner of the loaded library
    Module& operator=(const Module&) = delete;

    const ModuleInfo& info() const noexcept { return m_info; }
    const std::string& path() const noexcept { return m_info.path; }
    CK_FUNCTION_LIST* functions() const noexcept { return m_functions; }
    PKCS11_CTX* libp11_context() const noexcept { return m_ctx.get(); }

    /// Slot ids with or without a token (C_GetSlotList(CK_FALSE)).
    base::Result<std::vector<CK_SLOT_ID>> slot_ids() const;

  private:
    Module() = default;

    ModuleInfo m_info;
    Pkcs11CtxPtr m_ctx;
    bool m_loaded = false;        // PKCS11_CTX_load succeeded: unload before freeing
    void* m_dl_handle = nullptr;  // our reference to the library libp11 opened
    CK_FUNCTION_LIST* m_functions = nullptr;
};

/// Trims the blank padding of a fixed-length PKCS#11 UTF-8 field.
std::string trim_field(const CK_UTF8CHAR* field, std::size_t size);

}  // namespace keyfence::token::pkcs11
