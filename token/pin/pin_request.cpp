#include "token/pin/pin_source.hpp"

namespace keyfence::token {

std::string PinRequest::description() const {
    std::string text;
    const std::string op =
        context_specific ? operation + " (the key asks for its PIN again)" : operation;
    text += confirmation ? "Keyfence: confirm that you want to " + op + " with\n"
                         : "Keyfence: PIN needed to " + op + " with\n";
    text += "  key:   " + (key_label.empty() ? std::string("(no label)") : key_label);
    if (!key_fingerprint.empty()) text += " [SHA-256 " + key_fingerprint.substr(0, 16) + "…]";
    text += "\n  token: " + token_label + " (" + token_manufacturer + " " + token_model +
            ", serial " + token_serial + ")";
    if (token_is_software) text += "\n         SOFTWARE TOKEN: its keys are files on this computer";
    text += "\n";
    for (const auto& [label, value] : summary) text += "  " + label + ": " + value + "\n";
    const std::string warn = warning();
    if (!warn.empty()) text += warn + "\n";
    return text;
}

base::Status PinSource::confirm(const PinRequest&) {
    return confirmation_refused("this PIN source cannot ask for a confirmation");
}

base::Error confirmation_refused(std::string why) {
    return base::Error(base::ErrorCode::Cancelled,
                       "the operation was not confirmed (" + std::move(why) + "); nothing was done",
                       "the policy asks for a confirmation of each operation "
                       "(pin.confirm_each_operation): confirm it in pinentry, or with --pin-fd "
                       "pass --assume-confirmed");
}

std::string PinRequest::warning() const {
    if (final_try) return "WARNING: this is the LAST try; a wrong PIN locks the token.";
    if (tries_left) return std::to_string(*tries_left) + " PIN tries left.";
    if (count_low) return "A wrong PIN was entered before; the token counts the tries.";
    return {};
}

}  // namespace keyfence::token
