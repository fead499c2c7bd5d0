#include "mail/pgp/card_keygen.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include "base/logger.hpp"
#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {
namespace {
std::string trimmed(const std::string& s) {
    const auto first = s.find_first_not_of(' ');
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

bool is_ascii_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// common/mbox-util.c has_invalid_email_chars and is_valid_mailbox (gpg 2.2).
std::string mailbox_problem(const std::string& address) {
    if (address.empty()) return "it is empty";
    if (std::count(address.begin(), address.end(), '@') != 1) return "it needs exactly one '@'";
    if (address.front() == '@' || address.back() == '@') return "the '@' is first or last";
    if (address.back() == '.') return "it ends with '.'";
    if (address.find("..") != std::string::npos) return "it has \"..\"";
    bool at_seen = false;
    for (const unsigned char c : address) {
        if (c & 0x80) continue;  // gpg checks ASCII only
        if (c == '@') {
            at_seen = true;
        } else if (is_ascii_alnum(c) || c == '_' || c == '-' || c == '.') {
            continue;
        } else if (at_seen || std::string_view("!#$%&'*+/=?^`{|}~").find(static_cast<char>(c)) ==
                                  std::string_view::npos) {
            return std::string("it has the character '") + static_cast<char>(c) + "'" +
                   (at_seen ? " after the '@'" : "");
        }
    }
    return {};
}

// What the interact callback works with: the answers, and what gpg reported.
struct Exchange {
    KeygenDialogue dialogue;
    std::string fingerprint;
};

gpgme_error_t interact(void* opaque, const char* keyword, const char* args, int fd) noexcept {
    try {
        auto* exchange = static_cast<Exchange*>(opaque);
        const std::string kw = keyword != nullptr ? keyword : "";
        const std::string arg = args != nullptr ? args : "";
        base::log_debug("gpg card-edit: ", kw, " ", arg);
        if (kw == "KEY_CREATED") {
            // "KEY_CREATED B FINGERPRINT" (doc/DETAILS)
            const auto space = arg.find(' ');
            if (space != std::string::npos) exchange->fingerprint = arg.substr(space + 1);
        }
        if (fd < 0) return 0;  // a status line, no question
        // Every question gets an answer or ends the exchange: gpg waits for a reply to each,
        // so one left unanswered (a GET_HIDDEN, say) would wait for ever.
        auto reply =
            exchange->dialogue.answer(kw == "GET_LINE" || kw == "GET_BOOL" ? arg : kw + " " + arg);
        if (!reply) return gpg_error(GPG_ERR_CANCELED);
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

base::Status check_keygen_user_id(const std::string& name, const std::string& address) {
    const std::string n = trimmed(name);
    const auto refuse = [](const std::string& what) {
        return base::Error(base::ErrorCode::Usage, "gpg would refuse this user ID: " + what,
                           "see the user ID rules under pgp card-keygen in keyfence(1)");
    };
    if (n.find_first_of("<>") != std::string::npos) {
        return refuse("the name may not contain '<' or '>'");
    }
    if (!n.empty() && n.front() >= '0' && n.front() <= '9') {
        return refuse("the name may not start with a digit");
    }
    if (!n.empty() && n.size() < 5) {
        return refuse("the name must be at least 5 characters long (or empty), not \"" + n + "\"");
    }
    if (const std::string problem = mailbox_problem(trimmed(address)); !problem.empty()) {
        return refuse("the address is not one gpg accepts: " + problem);
    }
    return {};
}

std::optional<std::string> KeygenDialogue::answer(const std::string& prompt) {
    if (!m_why.empty()) return std::nullopt;
    if (prompt == "cardedit.prompt") {
        static constexpr const char* k_script[] = {"admin", "generate", "quit"};
        if (m_commands < 3) return std::string(k_script[m_commands++]);
        m_why = "gpg's card menu asked for a fourth command";
        return std::nullopt;
    }
    if (!m_answered.insert(prompt).second) {
        // gpg asks again only when it refused the answer (g10/keygen.c ask_user_id loops).
        m_user_id_refused = prompt.rfind("keygen.name", 0) == 0 ||
                            prompt.rfind("keygen.email", 0) == 0 ||
                            prompt.rfind("keygen.comment", 0) == 0;
        m_why = "gpg asked '" + prompt + "' again: it refused the answer";
        return std::nullopt;
    }
    if (prompt == "cardedit.genkeys.backup_enc") return std::string("n");
    if (prompt == "cardedit.genkeys.replace_keys") {
        m_refused_replace = !m_request.replace;
        return std::string(m_request.replace ? "y" : "n");
    }
    if (prompt == "keygen.valid") {
        if (m_request.on_pins_accepted) m_request.on_pins_accepted();
        return std::string("0");
    }
    if (prompt == "keygen.name") return m_request.name;
    if (prompt == "keygen.email") return m_request.address;
    if (prompt == "keygen.comment") return std::string();
    m_why = "gpg asked an unexpected question (" + prompt + ")";
    return std::nullopt;
}

base::Error KeygenDialogue::error() const {
    if (m_user_id_refused) {
        return base::Error(base::ErrorCode::Usage,
                           m_why + "; key generation was cancelled (the user ID \"" +
                               m_request.name + " <" + m_request.address + ">\")",
                           "see the user ID rules under pgp card-keygen in keyfence(1)");
    }
    return base::Error(base::ErrorCode::Cancelled, m_why + "; key generation was cancelled");
}

base::Result<std::string> generate_on_card(Context& ctx, const CardKeygen& request) {
    KEYFENCE_TRY(check_keygen_user_id(request.name, request.address));
    Exchange exchange{KeygenDialogue(request), {}};
    auto out = gpgme_memory_data();
    const gpgme_error_t err =
        gpgme_op_interact(ctx.get(), nullptr, GPGME_INTERACT_CARD, interact, &exchange, out.get());
    if (exchange.dialogue.refused_replace()) {
        return base::Error(base::ErrorCode::Cancelled,
                           "the card already holds keys; nothing was generated",
                           "give --replace to overwrite them (the old keys are lost)");
    }
    if (!exchange.dialogue.why().empty()) return exchange.dialogue.error();
    if (err != 0) return gpg_error(err, "the card did not generate the keys");
    if (exchange.fingerprint.empty()) {
        return base::Error(base::ErrorCode::ModuleFailure, "gpg made no certificate");
    }
    return exchange.fingerprint;
}

}  // namespace keyfence::mail::pgp
