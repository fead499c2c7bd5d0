#pragma once
// PC/SC-lite return values (SCARD_*): a name, a description for users and the Keyfence error
// code that says what the caller should do next.

#include <PCSC/winscard.h>

#include <string_view>

#include "base/code_table.hpp"

namespace keyfence::token::pcsc {

using ScardEntry = base::CodeEntry<LONG>;

const ScardEntry& scard_entry(LONG rv) noexcept;

/// "<context>: <description>" with origin PC/SC, the raw value and its name.
base::Error pcsc_error(LONG rv, std::string_view context);

}  // namespace keyfence::token::pcsc
