#pragma once
// A PIN prompt (token::PinRequest) as the agent sends it to its client with need-pin and
// need-confirm, and back. No PIN is ever part of it.

#include <nlohmann/json.hpp>

#include "token/pin/pin_source.hpp"

namespace keyfence::engine::agent {

nlohmann::json prompt_json(const token::PinRequest& request);
/// The prompt from the agent's JSON; missing or mistyped fields stay empty. Never throws.
token::PinRequest prompt_from_json(const nlohmann::json& json);

}  // namespace keyfence::engine::agent
