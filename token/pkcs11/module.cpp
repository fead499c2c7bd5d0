#include "token/pkcs11/module.hpp"

#include <dlfcn.h>

#include "base/openssl_error.hpp"
#include "token/pkcs11/ckr.hpp"

namespace keyfence::token::pkcs11 {

std::string trim_field(const CK_UTF8CHAR* field, std::size_t size) {
    std::string s(reinterpret_cast<const char*>(field), size);
    const auto end = s.find_last_not_of(" \0", std::string::npos, 2);
    return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

base::Result<std::shared_ptr<Module>> Module::load(const std::string& path) {
    std::shared_ptr<Module> module(new Module());
    module->m_info.path = path;
    module->m_ctx.reset(PKCS11_CTX_new());
    if (!module->m_ctx) return base::openssl_error(base::ErrorCode::Internal, "libp11 failed");
    if (PKCS11_CTX_load(module->m_ctx.get(), path.c_str()) != 0) {
        return base::openssl_error(base::ErrorCode::ModuleFailure,
                                   "could not load the PKCS#11 module " + path)
            .with_hint("check that the file exists and is a PKCS#11 module for this machine");
    }
    module->m_loaded = true;
    // The same library libp11 opened: RTLD_NOLOAD never opens a second copy.
    module->m_dl_handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (module->m_dl_handle == nullptr) {
        return base::Error(base::ErrorCode::ModuleFailure,
                           "could not reach the function list of " + path);
    }
    auto get_list =
        reinterpret_cast<CK_C_GetFunctionList>(::dlsym(module->m_dl_handle, "C_GetFunctionList"));
    if (get_list == nullptr || get_list(&module->m_functions) != CKR_OK ||
        module->m_functions == nullptr) {
        return base::Error(base::ErrorCode::ModuleFailure,
                           path + " has no usable C_GetFunctionList");
    }
    CK_INFO info{};
    if (CK_RV rv = module->m_functions->C_GetInfo(&info); rv != CKR_OK) {
        return pkcs11_error(rv, "C_GetInfo failed for " + path);
    }
    module->m_info.description =
        trim_field(info.libraryDescription, sizeof info.libraryDescription);
    module->m_info.manufacturer = trim_field(info.manufacturerID, sizeof info.manufacturerID);
    module->m_info.library_version =
        std::to_string(info.libraryVersion.major) + "." + std::to_string(info.libraryVersion.minor);
    module->m_info.cryptoki_version = std::to_string(info.cryptokiVersion.major) + "." +
                                      std::to_string(info.cryptokiVersion.minor);
    return module;
}

Module::~Module() {
    // Drop our reference before libp11 finalizes and closes the library.
    if (m_dl_handle != nullptr) ::dlclose(m_dl_handle);
    if (m_loaded) PKCS11_CTX_unload(m_ctx.get());
}

base::Result<std::vector<CK_SLOT_ID>> Module::slot_ids() const {
    // PKCS#11 3.0 §5.5 C_GetSlotList: ask for the count, then the list; the count may grow
    // between the calls when a reader is plugged in, so retry on CKR_BUFFER_TOO_SMALL.
    for (int attempt = 0; attempt < 3; ++attempt) {
        CK_ULONG count = 0;
        if (CK_RV rv = m_functions->C_GetSlotList(CK_FALSE, nullptr, &count); rv != CKR_OK) {
            return pkcs11_error(rv, "could not list the slots of " + path());
        }
        std::vector<CK_SLOT_ID> ids(count);
        CK_RV rv = m_functions->C_GetSlotList(CK_FALSE, ids.data(), &count);
        if (rv == CKR_BUFFER_TOO_SMALL) continue;
        if (rv != CKR_OK) return pkcs11_error(rv, "could not list the slots of " + path());
        ids.resize(count);
        return ids;
    }
    return base::Error(base::ErrorCode::ModuleFailure,
                       "the slot list of " + path() + " kept changing");
}

}  // namespace keyfence::token::pkcs11
