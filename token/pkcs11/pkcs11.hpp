#pragma once
// The one place token/ includes the PKCS#11 header (p11-kit's copy of the OASIS header, which
// carries the 3.0 constants: CKK_EC_EDWARDS, CKM_EDDSA, CKA_ALWAYS_AUTHENTICATE, ...).
#include <p11-kit/pkcs11.h>

// PKCS#11 3.0 §6.4 names that p11-kit 0.24's header predates.
#ifndef CKK_EC_MONTGOMERY
#define CKK_EC_MONTGOMERY (0x41UL)
#endif
