#pragma once
// The JSON shapes of --json output (docs/json-output.md documents them).

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "token/pkcs11/registry.hpp"

namespace keyfence::cli {

inline constexpr const char* k_json_schema = "keyfence/1";

nlohmann::json to_json(const token::pkcs11::TokenInfo& token);
nlohmann::json to_json(const token::pkcs11::ObjectInfo& object);
nlohmann::json to_json(const token::pkcs11::ModuleFailure& failure);
nlohmann::json to_json(const token::pkcs11::Module& module);
nlohmann::json to_json(const base::Error& error);

}  // namespace keyfence::cli
