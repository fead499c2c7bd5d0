// keyfence mail protect | open: one entry point for mail clients (docs/mail.md). Both find out
// what to do and then run the very code of `keyfence smime ...` / `keyfence pgp ...`.

#include <fcntl.h>
#include <gmime/gmime.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/atomic_output.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/mail_commands.hpp"
#include "cli/pgp_support.hpp"
#include "cli/smime_support.hpp"
#include "engine/policy/outgoing.hpp"
#include "mail/mime/classify.hpp"
#include "mail/mime/coverage.hpp"
#include "mail/mime/message.hpp"
#include "mail/pgp/keys.hpp"
#include "mail/smime/cert_store.hpp"
#include "mail/smime/envelope_head.hpp"
#include "mail/smime/stream_decrypt.hpp"
#include "mail/smime/stream_io.hpp"

namespace keyfence::cli {
namespace {
namespace fs = std::filesystem;
namespace mime = mail::mime;
using engine::policy::MailProtocol;
using engine::policy::ProtocolReach;

struct MailProtectOptions {
    std::string key;       ///< a PKCS#11 URI (S/MIME) or an OpenPGP fingerprint or address
    std::string protocol;  ///< "smime", "openpgp" or "" (by what the recipients have)
    std::string homedir;   ///< the GnuPG home (default: Keyfence's own)
    std::string in = "-";
    std::string out = "-";
};

struct MailOpenOptions {
    std::string key;
    std::vector<std::string> ca_files;
    std::vector<std::string> chain_files;
    std::string at;
    std::string homedir;
    std::string in = "-";
    std::string out = "-";
};

// A private directory (0700) for the intermediate message between two steps, removed with all
// it holds. In $XDG_RUNTIME_DIR (memory, this user's only) when there is one.
class ScratchDir {
  public:
    static base::Result<ScratchDir> create() {
        const char* runtime = std::getenv("XDG_RUNTIME_DIR");
        const char* tmp = std::getenv("TMPDIR");
        std::string base = runtime != nullptr && *runtime != '\0' ? runtime
                           : tmp != nullptr && *tmp != '\0'       ? tmp
                                                                  : "/tmp";
        std::string pattern = base + "/keyfence-mail-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            return base::Error(base::ErrorCode::Io, "cannot create a private directory in " + base);
        }
        return ScratchDir(pattern);
    }
    ScratchDir(ScratchDir&& other) noexcept : m_path(std::move(other.m_path)) {
        other.m_path.clear();
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ScratchDir& operator=(ScratchDir&&) = delete;
    ~ScratchDir() {
        std::error_code ignored;
        if (!m_path.empty()) fs::remove_all(m_path, ignored);
    }
    std::string file(const std::string& name) const { return (fs::path(m_path) / name).string(); }

  private:
    explicit ScratchDir(std::string path) : m_path(std::move(path)) {}
    std::string m_path;
};

// Runs `run` with standard output going to memory, and returns its exit code and what it wrote:
// the protocol command's report, which `mail open` completes before printing it.
std::pair<int, std::string> capture_stdout(const std::function<int()>& run) {
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    const int memory = ::memfd_create("keyfence-report", MFD_CLOEXEC);
    if (saved < 0 || memory < 0) {
        if (saved >= 0) ::close(saved);
        if (memory >= 0) ::close(memory);
        return {run(), {}};
    }
    ::dup2(memory, STDOUT_FILENO);
    const int code = run();
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::string text;
    char buffer[4096];
    ::lseek(memory, 0, SEEK_SET);
    for (ssize_t got; (got = ::read(memory, buffer, sizeof buffer)) > 0;) {
        text.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(memory);
    return {code, text};
}

// Copies `from` (if the protocol command wrote it) to `to`, whole or not at all.
base::Status deliver(const std::string& from, const std::string& to) {
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(to));
    KEYFENCE_TRY(
        mail::smime::read_chunks(from, [&](std::string_view chunk) { (void)out.write(chunk); }));
    return out.commit();
}

// The recipients' addresses (To, Cc, Bcc), lower case, each once.
std::vector<std::string> recipient_addresses(GMimeMessage* message) {
    std::vector<std::string> out;
    InternetAddressList* all = g_mime_message_get_all_recipients(message);
    const std::function<void(InternetAddressList*)> walk = [&](InternetAddressList* list) {
        for (int i = 0; list != nullptr && i < internet_address_list_length(list); ++i) {
            InternetAddress* a = internet_address_list_get_address(list, i);
            if (INTERNET_ADDRESS_IS_GROUP(a)) {
                walk(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
                continue;
            }
            const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
            if (addr == nullptr || *addr == '\0') continue;
            std::string lower = addr;
            for (char& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (std::find(out.begin(), out.end(), lower) == out.end()) out.push_back(lower);
        }
    };
    walk(all);
    if (all != nullptr) g_object_unref(all);
    return out;
}

bool is_pkcs11_uri(const std::string& text) {
    return text.rfind("pkcs11:", 0) == 0;
}

// The token key whose certificate names `address` and that can do `use`: exactly one, or an
// error asking for --key.
base::Result<std::string> smime_key_for(engine::Engine& engine, const std::string& address,
                                        bool for_signing) {
    std::vector<token::pkcs11::ModuleFailure> failures;
    KEYFENCE_TRY_ASSIGN(keys, engine.keys("", failures));
    std::vector<std::string> found;
    for (const auto& k : keys) {
        if (!k.key.certificate || !k.key.supported) continue;
        const auto& emails = k.key.certificate->emails;
        if (std::find(emails.begin(), emails.end(), address) == emails.end()) continue;
        if (k.key.usages_known && !(for_signing ? k.key.can_sign : k.key.can_decrypt)) continue;
        found.push_back(k.key.uri);
    }
    if (found.size() == 1) return found.front();
    if (found.empty()) {
        return base::Error(base::ErrorCode::KeyNotFound,
                           "no token key has a certificate for " + address,
                           "name the key with --key URI ('keyfence keys' lists them)");
    }
    std::string list;
    for (const auto& uri : found) list += "\n  " + uri;
    return base::Error(base::ErrorCode::Ambiguous,
                       "several token keys have a certificate for " + address + ":" + list,
                       "name one with --key URI");
}

// The token key a received S/MIME message is encrypted to, by its RecipientInfos (issuer and
// serial, or key identifier, against the certificate of every decryption key on the tokens):
// several keys for one address, a renewed key, or a Bcc: copy need no --key. When several of
// the user's keys are named, one whose certificate names a recipient address is preferred; any
// of them opens the message with one operation.
// `part` is the encrypted part (the body, or the part opened alone): only the head of its
// envelope is decoded, where the RecipientInfos are.
base::Result<std::string> smime_key_for_message(const GlobalOptions& globals,
                                                const mime::Message& message, GMimeObject* part) {
    auto engine = make_engine(globals);
    std::vector<token::pkcs11::ModuleFailure> failures;
    KEYFENCE_TRY_ASSIGN(keys, engine->keys("", failures));
    const std::vector<std::string> addressed = recipient_addresses(message.get());
    std::vector<std::string> uris;
    std::vector<bool> for_recipient;
    std::vector<base::X509Ptr> certificates;
    std::vector<X509*> candidates;
    for (const auto& k : keys) {
        if (!k.key.certificate || !k.key.supported) continue;
        if (k.key.usages_known && !k.key.can_decrypt) continue;
        auto certificate = key_certificate(k);
        if (!certificate) continue;
        const auto& emails = k.key.certificate->emails;
        uris.push_back(k.key.uri);
        for_recipient.push_back(std::any_of(addressed.begin(), addressed.end(), [&](auto& a) {
            return std::find(emails.begin(), emails.end(), a) != emails.end();
        }));
        candidates.push_back(certificate->get());
        certificates.push_back(std::move(*certificate));
    }
    KEYFENCE_TRY_ASSIGN(named, mail::smime::recipients_among(part, candidates));
    if (named.empty()) {
        return base::Error(base::ErrorCode::KeyNotFound,
                           "the message is not encrypted to a key on the tokens (" +
                               std::to_string(uris.size()) +
                               " with a certificate for decryption looked at)",
                           "name the key with --key URI ('keyfence keys' lists them)");
    }
    auto chosen =
        std::find_if(named.begin(), named.end(), [&](std::size_t i) { return for_recipient[i]; });
    return uris[chosen != named.end() ? *chosen : named.front()];
}

// --- mail protect ---------------------------------------------------------------------------

struct Reach {
    ProtocolReach smime{MailProtocol::Smime, false, {}};
    ProtocolReach openpgp{MailProtocol::OpenPgp, false, {}};
    std::string smime_key;  ///< the sender's S/MIME key URI, when found
    std::string pgp_key;    ///< the sender's OpenPGP key selector, when found
};

Reach what_reaches(const GlobalOptions& globals, const MailProtectOptions& options,
                   const std::string& sender, const std::vector<std::string>& recipients) {
    Reach r;
    // S/MIME: the sender's token key, and each recipient's certificate in the store.
    auto engine = make_engine(globals);
    if (options.key.empty() || is_pkcs11_uri(options.key)) {
        if (options.key.empty()) {
            if (auto key = smime_key_for(*engine, sender, true)) r.smime_key = *key;
        } else if (engine->find_key(options.key)) {
            r.smime_key = options.key;
        }
        r.smime.sender_can_sign = !r.smime_key.empty();
    }
    auto store = mail::smime::CertStore::user_store();
    for (const auto& to : recipients) {
        if (!store || !store->find_by_email(to)) r.smime.missing_recipients.push_back(to);
    }
    // OpenPGP: the sender's secret (token) key and each recipient's key in Keyfence's home.
    auto ctx = open_home(options.homedir);
    if (!ctx) {
        r.openpgp.missing_recipients = recipients;
        return r;
    }
    if (options.key.empty() || !is_pkcs11_uri(options.key)) {
        const std::string selector = options.key.empty() ? sender : options.key;
        if (mail::pgp::find_key(*ctx, selector, mail::pgp::KeyUse::Sign, true)) {
            r.pgp_key = selector;
            r.openpgp.sender_can_sign = true;
        }
    }
    for (const auto& to : recipients) {
        if (!mail::pgp::find_key(*ctx, to, mail::pgp::KeyUse::Encrypt, false)) {
            r.openpgp.missing_recipients.push_back(to);
        }
    }
    return r;
}

base::Status mail_protect(const GlobalOptions& globals, const MailProtectOptions& options) {
    KEYFENCE_TRY_ASSIGN(input, mail::smime::open_input(options.in));
    KEYFENCE_TRY_ASSIGN(message, mime::Message::parse_file(input.path));
    const auto& from = message.headers().from_addresses;
    if (from.size() != 1) {
        return base::Error(base::ErrorCode::BadInput,
                           "the message must have exactly one From: address to be protected (it "
                           "has " +
                               std::to_string(from.size()) + ")");
    }
    const std::vector<std::string> recipients = recipient_addresses(message.get());
    if (recipients.empty()) {
        return base::Error(base::ErrorCode::BadInput, "the message has no recipient (To, Cc, Bcc)");
    }
    Reach reach = what_reaches(globals, options, from.front(), recipients);
    std::vector<ProtocolReach> order;
    if (options.protocol == "smime") {
        order = {reach.smime};
    } else if (options.protocol == "openpgp") {
        order = {reach.openpgp};
    } else {
        // OpenPGP first when it reaches everyone with a key of the sender's: those keys were
        // chosen for these addresses; S/MIME otherwise (docs/mail.md).
        const bool pgp_whole =
            reach.openpgp.missing_recipients.empty() && reach.openpgp.sender_can_sign;
        order = pgp_whole ? std::vector{reach.openpgp, reach.smime}
                          : std::vector{reach.smime, reach.openpgp};
    }
    auto engine = make_engine(globals);
    KEYFENCE_TRY_ASSIGN(policy, engine->policy());
    const auto decision = engine::policy::decide_outgoing(policy->values().mail, order);
    if (decision.refusal) {
        // mail.unprotected follows from mail.sign and mail.encrypt together.
        const auto& setting = policy->setting(
            decision.refusal->rule == "mail.unprotected" ? "mail.encrypt" : decision.refusal->rule);
        return base::Error(
            base::ErrorCode::PolicyDenied,
            "refused by rule '" + decision.refusal->rule + "': " + decision.refusal->message,
            "the rule comes from " + setting.source.describe() +
                "; add the missing certificates ('keyfence certs add') or keys "
                "('keyfence pgp import'), or see 'keyfence policy show'");
    }
    const auto& plan = *decision.plan;
    std::fprintf(stderr, "keyfence: mail protect: %s%s%s with %s\n", plan.sign ? "sign" : "",
                 plan.sign && plan.encrypt ? " and " : "", plan.encrypt ? "encrypt" : "",
                 plan.protocol == MailProtocol::Smime ? "S/MIME" : "OpenPGP");
    if (plan.protocol == MailProtocol::OpenPgp) {
        if (!plan.encrypt) {
            return run_pgp_sign(globals, {.homedir = options.homedir,
                                          .key = reach.pgp_key,
                                          .in = input.path,
                                          .out = options.out});
        }
        return run_pgp_encrypt(globals, {.homedir = options.homedir,
                                         .to = recipients,
                                         .key = reach.pgp_key,
                                         .sign = plan.sign,
                                         .in = input.path,
                                         .out = options.out});
    }
    if (!plan.encrypt) {
        return run_smime_sign(globals,
                              {.key_uri = reach.smime_key, .in = input.path, .out = options.out});
    }
    std::string content = input.path;
    KEYFENCE_TRY_ASSIGN(scratch, ScratchDir::create());
    if (plan.sign) {
        content = scratch.file("signed.eml");
        KEYFENCE_TRY(run_smime_sign(
            globals, {.key_uri = reach.smime_key, .in = input.path, .out = content}));
    }
    return run_smime_encrypt(
        globals, {.to = recipients, .key_uri = reach.smime_key, .in = content, .out = options.out});
}

// --- mail open ------------------------------------------------------------------------------

bool is_encrypted(mime::Protection p) {
    return p == mime::Protection::SmimeEncrypted || p == mime::Protection::PgpEncrypted ||
           p == mime::Protection::PgpInlineEncrypted;
}

// Runs the protocol command for `part` with its report captured; `opened` receives what it
// writes. Exit code 1 and a reason for protections Keyfence does not open.
std::pair<int, std::string> open_part(const GlobalOptions& globals, const MailOpenOptions& options,
                                      const mime::Message& message, GMimeObject* part,
                                      mime::Protection protection, const std::string& in,
                                      const std::string& opened, DecryptOutcome& outcome) {
    using P = mime::Protection;
    switch (protection) {
        case P::SmimeSigned:
        case P::SmimeOpaqueSigned:
            return capture_stdout([&] {
                return run_smime_verify(globals, {.ca_files = options.ca_files,
                                                  .chain_files = options.chain_files,
                                                  .at = options.at,
                                                  .in = in,
                                                  .out = opened});
            });
        case P::SmimeEncrypted:
            return capture_stdout([&] {
                std::string key = options.key;
                if (key.empty()) {
                    auto found = smime_key_for_message(globals, message, part);
                    if (!found) return finish(found.error());
                    key = *found;
                }
                return run_smime_decrypt(
                    globals,
                    {.key_uri = key, .ca_files = options.ca_files, .in = in, .out = opened},
                    &outcome);
            });
        case P::PgpSigned:
        case P::PgpInlineSigned:
            return capture_stdout([&] {
                return run_pgp_verify(
                    globals,
                    {.homedir = options.homedir, .at = options.at, .in = in, .out = opened});
            });
        case P::PgpEncrypted:
        case P::PgpInlineEncrypted:
            return capture_stdout([&] {
                return run_pgp_decrypt(
                    globals,
                    {.homedir = options.homedir, .key = options.key, .in = in, .out = opened},
                    &outcome);
            });
        case P::UnknownSigned:
        case P::UnknownEncrypted:
            break;
    }
    return {k_exit_not_verified, ""};
}

// The entity at MIME `path` ("2", "1.3") of `message` ("" is the body). Errors: BadInput when
// the path names no part.
base::Result<GMimeObject*> entity_at(const mime::Message& message, const std::string& path) {
    GMimeObject* entity = message.body();
    std::size_t at = 0;
    while (at < path.size()) {
        const std::size_t dot = path.find('.', at);
        const int index = std::stoi(path.substr(at, dot - at)) - 1;
        if (entity == nullptr || !GMIME_IS_MULTIPART(entity) || index < 0 ||
            index >= g_mime_multipart_get_count(GMIME_MULTIPART(entity))) {
            return base::Error(base::ErrorCode::BadInput, "the message has no part " + path);
        }
        entity = g_mime_multipart_get_part(GMIME_MULTIPART(entity), index);
        at = dot == std::string::npos ? path.size() : dot + 1;
    }
    return entity;
}

// `entity`, a part of `message`, written to `file` as the body of a message with the same
// outer headers (which then has it as its body).
base::Result<std::string> alone_in_message(mime::Message& message, GMimeObject* entity,
                                           const std::string& file) {
    auto alone = mime::add_ref(entity);
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(file));
    KEYFENCE_TRY(out.write(message.with_body(alone.get())));
    KEYFENCE_TRY(out.commit());
    return file;
}

int mail_open(const GlobalOptions& globals, const MailOpenOptions& options) {
    auto input = mail::smime::open_input(options.in);
    if (!input) return finish(input.error());
    auto message = mime::Message::parse_file(input->path);
    if (!message) return finish(message.error());
    const mime::Classification found = mime::classify(*message);
    auto scratch = ScratchDir::create();
    if (!scratch) return finish(scratch.error());
    const std::string opened = scratch->file("opened.eml");

    nlohmann::json mail = {{"protection", "none"},
                           {"path", nullptr},
                           {"mixed", found.mixed},
                           {"decrypted", false},
                           {"authenticated", false}};
    std::vector<std::string> notes;
    int code = k_exit_not_verified;
    std::string report;
    if (found.plain()) {
        notes.push_back("the message is neither signed nor encrypted: nothing vouches for it");
    } else {
        const auto& part = found.parts.front();
        mail["protection"] = mime::protection_name(part.protection);
        mail["path"] = part.path;
        DecryptOutcome outcome;
        std::string in = input->path;
        auto entity = entity_at(*message, part.path);
        if (!entity) return finish(entity.error());
        const auto protected_part = mime::add_ref(*entity);
        if (part.protection == mime::Protection::SmimeEncrypted && !part.path.empty()) {
            // EFAIL direct exfiltration: the encrypted part alone, under the message's own
            // headers, is what gets decrypted; the parts around it are never joined to it.
            auto alone = alone_in_message(*message, *entity, scratch->file("part.eml"));
            if (!alone) return finish(alone.error());
            in = *alone;
        }
        std::tie(code, report) = open_part(globals, options, *message, protected_part.get(),
                                           part.protection, in, opened, outcome);
        if (part.protection == mime::Protection::UnknownSigned ||
            part.protection == mime::Protection::UnknownEncrypted) {
            notes.push_back(std::string("the message is ") +
                            mime::protection_name(part.protection) +
                            " with a protocol Keyfence does not know; it was not opened");
        }
        const bool decrypted = is_encrypted(part.protection) && fs::exists(opened);
        mail["decrypted"] = decrypted;
        // The decrypt command verified a signature inside, if there was one; its exit code
        // says how that went. Without one, nothing vouches for the sender.
        if (decrypted && code == k_exit_ok && !outcome.signature_inside) {
            code = k_exit_not_verified;
            notes.push_back(
                "the message was decrypted, but it is not signed: anyone who had "
                "the recipients' certificates or keys could have written it");
        }
        if (found.mixed) {
            if (code == k_exit_ok) code = k_exit_not_verified;
            notes.push_back("the message mixes protected and unprotected content: only part " +
                            part.path + " (" + mime::protection_name(part.protection) +
                            ") was opened, alone, and nothing outside it is vouched for or shown");
        }
        if (found.parts.size() > 1) {
            notes.push_back("the message holds " + std::to_string(found.parts.size()) +
                            " protected parts; only the first was opened");
        }
    }
    mail["authenticated"] = code == k_exit_ok;
    mail["notes"] = notes;

    // The opened content goes out whole or not at all, and only what the command wrote.
    if (fs::exists(opened)) {
        if (auto delivered = deliver(opened, options.out); !delivered) return finish(delivered);
    }
    std::FILE* out = options.out == "-" ? stderr : stdout;
    if (globals.json) {
        nlohmann::json j = nlohmann::json::object();
        if (!report.empty()) {
            auto parsed = nlohmann::json::parse(report, nullptr, false);
            j = parsed.is_discarded() ? nlohmann::json{{"report", report}} : parsed;
        }
        j["mail"] = mail;
        std::fputs((j.dump(2, ' ', true, nlohmann::json::error_handler_t::replace) + "\n").c_str(),
                   out);
    } else {
        std::string text = report;
        text += std::string("Message: ") + mail["protection"].get<std::string>().c_str() +
                (found.plain() ? "" : " (" + mime::describe_path(found.parts.front().path) + ")") +
                "\n";
        for (const auto& note : notes) text += "Note: " + note + "\n";
        text += code == k_exit_ok ? "Opened: signed by the sender, the whole message\n"
                                  : "Opened: NOT AUTHENTICATED as a whole\n";
        std::fputs(text.c_str(), out);
    }
    return code;
}

}  // namespace

void add_mail_commands(CommandContext& context) {
    auto* mail = context.app.add_subcommand(
        "mail", "One entry point for mail clients: protect outgoing, open incoming (docs/mail.md)");
    mail->require_subcommand(1);

    auto protect = std::make_shared<MailProtectOptions>();
    auto* p = mail->add_subcommand(
        "protect", "Sign and encrypt an outgoing message as the policy says, S/MIME or OpenPGP");
    p->add_option("--key", protect->key,
                  "The sender's key: a PKCS#11 URI (S/MIME) or an OpenPGP fingerprint or address "
                  "(default: by the From: address)");
    p->add_option("--protocol", protect->protocol, "smime or openpgp (default: by the recipients)")
        ->check(CLI::IsMember({"smime", "openpgp"}));
    add_homedir_option(p, protect->homedir);
    p->add_option("--in", protect->in, "The message (default: standard input)");
    p->add_option("--out", protect->out, "Where to write the protected message (default: stdout)");
    context.on_chosen(p, protect, [](const GlobalOptions& g, const MailProtectOptions& o) {
        return finish(mail_protect(g, o));
    });

    auto open = std::make_shared<MailOpenOptions>();
    auto* o = mail->add_subcommand(
        "open", "Decrypt and verify an incoming message, whatever its protection; a verdict");
    o->add_option("--key", open->key,
                  "The decryption key: a PKCS#11 URI (S/MIME) or an OpenPGP fingerprint or "
                  "address (default: the one the message is for)");
    o->add_option("--ca", open->ca_files, "S/MIME: trust these CA certificates (PEM; repeatable)");
    o->add_option("--chain", open->chain_files, "S/MIME: intermediate certificates (PEM)");
    o->add_option("--at", open->at, "Verify signatures as of this time (2020-06-01, @EPOCH)");
    add_homedir_option(o, open->homedir);
    o->add_option("--in", open->in, "The message (default: standard input)");
    o->add_option("--out", open->out, "Where to write the opened content (default: stdout)");
    context.on_chosen(o, open, mail_open);
}

}  // namespace keyfence::cli
