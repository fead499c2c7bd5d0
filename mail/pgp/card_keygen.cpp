#include "mail/pgp/card_keygen.hpp"

#include <optional>

#include "base/logger.hpp"
#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {
namespace {

// The dialogue of gpg 2.2 --card-edit "generate" (g10/card-util.c, g10/keygen.c), answered by
// prompt keyword. Any other question cancels: Keyfence does not guess.
struct Dialogue {
    const CardKeygen& request;
    int commands = 0;  ///< how many cardedit.prompt answers were given
    std::string fingerprint;
    std::string unexpected;
    bool refused_replace = false;

    std::optional<std::string> answer(const std::string& prompt) {
        if (prompt == "cardedit.prompt") {
            static constexpr const char* k_script[] = {"admin", "generate", "quit"};
            if (commands < 3) return std::string(k_script[commands++]);
            return std::nullopt;
        }
        if (prompt == "cardedit.genkeys.backup_enc") return std::string("n");
        if (prompt == "cardedit.genkeys.replace_keys") {
            refused_replace = !request.replace;
            return std::string(request.replace ? "y" : "n");
        }
        if (prompt == "keygen.valid") {
            if (request.on_pins_accepted) request.on_pins_accepted();
            return std::string("0");
        }
        if (prompt == "keygen.name") return request.name;
        if (prompt == "keygen.email") return request.address;
        if (prompt == "keygen.comment") return std::string();
        return std::nullopt;
    }
};

gpgme_error_t interact(void* opaque, const char* keyword, const char* args, int fd) noexcept {
    try {
        auto* dialogue = static_cast<Dialogue*>(opaque);
        const std::string kw = keyword != nullptr ? keyword : "";
        const std::string arg = args != nullptr ? args : "";
        base::log_debug("gpg card-edit: ", kw, " ", arg);
        if (kw == "KEY_CREATED") {
            // "KEY_CREATED B FINGERPRINT" (doc/DETAILS)
            const auto space = arg.find(' ');
            if (space != std::string::npos) dialogue->fingerprint = arg.substr(space + 1);
        }
        if (fd < 0) return 0;  // a status line, no question
        if (kw != "GET_LINE" && kw != "GET_BOOL") return 0;
        auto reply = dialogue->answer(arg);
        if (!reply) {
            dialogue->unexpected = arg;
            return gpg_error(GPG_ERR_CANCELED);
        }
        *reply += "\n";
        if (gpgme_io_writen(fd, reply->data(), reply->size()) != 0) {
            return gpg_error(GPG_ERR_CANCELED);
        }
        return 0;
    } catch (...) {
        return gpg_error(GPG_ERR_CANCELED);
    }
}
}  // namespace

base::Result<std::string> generate_on_card(Context& ctx, const CardKeygen& request) {
    Dialogue dialogue{request};
    auto out = gpgme_memory_data();
    const gpgme_error_t err =
        gpgme_op_interact(ctx.get(), nullptr, GPGME_INTERACT_CARD, interact, &dialogue, out.get());
    if (dialogue.refused_replace) {
        return base::Error(base::ErrorCode::Cancelled,
                           "the card already holds keys; nothing was generated",
                           "give --replace to overwrite them (the old keys are lost)");
    }
    if (!dialogue.unexpected.empty()) {
        return base::Error(base::ErrorCode::Cancelled, "gpg asked an unexpected question (" +
                                                           dialogue.unexpected +
                                                           "); key generation was cancelled");
    }
    if (err != 0) return gpg_error(err, "the card did not generate the keys");
    if (dialogue.fingerprint.empty()) {
        return base::Error(base::ErrorCode::ModuleFailure, "gpg made no certificate");
    }
    return dialogue.fingerprint;
}

}  // namespace keyfence::mail::pgp
