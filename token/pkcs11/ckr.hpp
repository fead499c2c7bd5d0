#pragma once
// PKCS#11 return values (CKR_*): a name, a description for users, and the Keyfence error code
// that says what the caller should do next. PKCS#11 3.0 §5.1 "Function return values".

#include <string>
#include <string_view>

#include "base/code_table.hpp"
#include "token/pkcs11/pkcs11.hpp"

namespace keyfence::token::pkcs11 {

/// value, name ("CKR_PIN_INCORRECT"), description ("the PIN is incorrect"), and the code
/// that says what the caller should do next.
using CkrEntry = base::CodeEntry<CK_RV>;

/// The table entry for `rv`; an "unknown return value" entry for values not in the table.
const CkrEntry& ckr_entry(CK_RV rv) noexcept;

/// An Error for a failed PKCS#11 call: "<context>: <description>" with origin PKCS#11, the raw
/// CKR value and its name.
base::Error pkcs11_error(CK_RV rv, std::string_view context);

}  // namespace keyfence::token::pkcs11
