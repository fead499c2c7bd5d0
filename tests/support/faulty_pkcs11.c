/* A PKCS#11 module that is SoftHSM with one fault: every signature it returns has one bit
 * flipped, as a token with a faulty RSA-CRT computation (or a glitched ECDSA) would return.
 * Everything else is SoftHSM's own function list, unchanged. Tests load it with --module and
 * set FAULTY_PKCS11_TARGET to the real module; Keyfence must withhold every such signature.
 * With FAULTY_PKCS11_OFF set it passes signatures through untouched (the tests' control).
 */
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <stdlib.h>
#include <string.h>

static CK_FUNCTION_LIST faulty;
static CK_FUNCTION_LIST_PTR real;

static void flip(CK_BYTE_PTR signature, CK_ULONG_PTR length) {
    if (signature != NULL && length != NULL && *length > 0) signature[*length / 2] ^= 0x01;
}

static CK_RV faulty_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG data_len,
                         CK_BYTE_PTR signature, CK_ULONG_PTR signature_len) {
    CK_RV rv = real->C_Sign(session, data, data_len, signature, signature_len);
    if (rv == CKR_OK) flip(signature, signature_len);
    return rv;
}

static CK_RV faulty_sign_final(CK_SESSION_HANDLE session, CK_BYTE_PTR signature,
                               CK_ULONG_PTR signature_len) {
    CK_RV rv = real->C_SignFinal(session, signature, signature_len);
    if (rv == CKR_OK) flip(signature, signature_len);
    return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
    if (list == NULL) return CKR_ARGUMENTS_BAD;
    if (real == NULL) {
        const char* target = getenv("FAULTY_PKCS11_TARGET");
        void* module = target != NULL ? dlopen(target, RTLD_NOW | RTLD_LOCAL) : NULL;
        void* symbol = module != NULL ? dlsym(module, "C_GetFunctionList") : NULL;
        CK_C_GetFunctionList get = NULL;
        /* POSIX dlsym: an object pointer that holds a function's address. */
        memcpy(&get, &symbol, sizeof get);
        if (get == NULL || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
        memcpy(&faulty, real, sizeof faulty);
        if (getenv("FAULTY_PKCS11_OFF") == NULL) {
            faulty.C_Sign = faulty_sign;
            faulty.C_SignFinal = faulty_sign_final;
        }
    }
    *list = &faulty;
    return CKR_OK;
}
