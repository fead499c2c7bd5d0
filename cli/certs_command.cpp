// keyfence certs add | list | export: the certificate store, and one's own certificate.

#include <cstdio>

#include "base/atomic_output.hpp"
#include "cli/command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/smime_report.hpp"
#include "cli/smime_support.hpp"
#include "mail/smime/cert_store.hpp"
#include "mail/smime/certificate.hpp"

namespace keyfence::cli {

namespace {
struct CertsAddOptions {
    std::vector<std::string> files;
};
struct CertsExportOptions {
    std::string key_uri;
    std::string out = "-";
};

base::Status certs_add(const CertsAddOptions& options) {
    KEYFENCE_TRY_ASSIGN(store, mail::smime::CertStore::user_store());
    for (const auto& file : options.files) {
        KEYFENCE_TRY_ASSIGN(certs, mail::smime::load_certificates(file));
        for (const auto& c : certs) {
            KEYFENCE_TRY_ASSIGN(fingerprint, store.add(c.get()));
            const auto facts = mail::smime::describe(c.get());
            std::printf("added %s (%s)\n", printable(facts.subject).c_str(), fingerprint.c_str());
        }
    }
    return {};
}

base::Status certs_list(const GlobalOptions& globals) {
    KEYFENCE_TRY_ASSIGN(store, mail::smime::CertStore::user_store());
    KEYFENCE_TRY_ASSIGN(certs, store.all());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : certs) {
        const auto f = mail::smime::describe(c.get());
        if (globals.json) {
            list.push_back({{"subject", f.subject},
                            {"issuer", f.issuer},
                            {"emails", f.emails},
                            {"not_before", f.not_before},
                            {"not_after", f.not_after},
                            {"sha256", f.sha256}});
            continue;
        }
        std::string emails;
        for (const auto& e : f.emails) emails += (emails.empty() ? "" : ", ") + e;
        std::printf("%s\n  emails: %s\n  issuer: %s\n  valid: %s to %s\n  sha256: %s\n",
                    printable(f.subject).c_str(), printable(emails).c_str(),
                    printable(f.issuer).c_str(), f.not_before.c_str(), f.not_after.c_str(),
                    f.sha256.c_str());
    }
    if (globals.json) std::printf("%s\n", list.dump(2).c_str());
    return {};
}

base::Status certs_export(const GlobalOptions& globals, const CertsExportOptions& options) {
    auto engine = make_engine(globals);
    warn_module_failures(engine->module_failures());
    KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
    KEYFENCE_TRY_ASSIGN(cert, key_certificate(match));
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    KEYFENCE_TRY(out.write(mail::smime::to_pem(cert.get())));
    return out.commit();
}
}  // namespace

void add_certs_commands(CommandContext& context) {
    auto* certs = context.app.add_subcommand(
        "certs", "Certificates: other people's (for encryption) and your own (to share)");
    certs->require_subcommand(1);
    auto add = std::make_shared<CertsAddOptions>();
    auto* a = certs->add_subcommand("add", "Add certificates (PEM or DER files) to the store");
    a->add_option("FILE", add->files, "Certificate files")->required();
    context.on_chosen(a, add, [](const GlobalOptions&, const CertsAddOptions& o) {
        return finish(certs_add(o));
    });
    auto none = std::make_shared<int>(0);
    auto* l = certs->add_subcommand("list", "List the certificates in the store");
    context.on_chosen(l, none,
                      [](const GlobalOptions& g, const int&) { return finish(certs_list(g)); });
    auto exp = std::make_shared<CertsExportOptions>();
    auto* e = certs->add_subcommand("export", "Write a token key's certificate (PEM)");
    e->add_option("--key", exp->key_uri, "The key's PKCS#11 URI")->required();
    e->add_option("--out", exp->out, "Where to write it (default: stdout)");
    context.on_chosen(e, exp, [](const GlobalOptions& g, const CertsExportOptions& o) {
        return finish(certs_export(g, o));
    });
}

}  // namespace keyfence::cli
