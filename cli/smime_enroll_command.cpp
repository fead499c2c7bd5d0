// keyfence smime csr | import-cert: enrollment of a token key with a CA.

#include "base/atomic_output.hpp"
#include "cli/exit_codes.hpp"
#include "cli/smime_delegates.hpp"
#include "cli/smime_support.hpp"
#include "mail/smime/certificate.hpp"
#include "mail/smime/csr.hpp"

namespace keyfence::cli {

namespace {
struct CsrOptions {
    std::string key_uri;
    std::string email;
    std::string subject;
    std::string out = "-";
};

struct ImportCertOptions {
    std::string key_uri;
    std::string cert;
    bool replace = false;
};

base::Status csr(const GlobalOptions& globals, const CsrOptions& options) {
    auto engine = make_engine(globals);
    warn_module_failures(engine->module_failures());
    KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
    if (match.key.public_key.empty()) {
        return base::Error(base::ErrorCode::KeyNotFound,
                           "the token shows no public key for " + match.key.uri);
    }
    const unsigned char* p = match.key.public_key.data();
    base::EvpPkeyPtr public_key(
        d2i_PUBKEY(nullptr, &p, static_cast<long>(match.key.public_key.size())));
    if (!public_key) return base::Error(base::ErrorCode::BadInput, "unreadable public key");
    KEYFENCE_TRY_ASSIGN(
        req, mail::smime::build_csr(public_key.get(),
                                    {.email = options.email, .subject = options.subject}));
    KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(options.out));
    engine::OperationRequest request;
    request.operation = engine::Operation::Sign;
    request.key_uri = options.key_uri;
    request.summary = {
        {"Certificate request", "PKCS#10"},
        {"Subject", options.subject.empty() ? "/CN=" + options.email : options.subject},
        {"Email", options.email}};
    KEYFENCE_TRY_ASSIGN(lease, engine->authorize(std::move(match), request));
    if (lease.key().always_authenticate) {
        // As for S/MIME: the lease logs in for the signature with the PIN already given.
        mail::smime::KeyDelegate delegate = lease_delegate(lease);
        KEYFENCE_TRY_ASSIGN(key, mail::smime::delegated_key(lease.public_key(), &delegate));
        auto pem = mail::smime::sign_csr(req.get(), key.get(), "sha256");
        if (!pem) return delegate.failure ? *delegate.failure : std::move(pem).error();
        KEYFENCE_TRY(out.write(*pem));
        return out.commit();
    }
    KEYFENCE_TRY_ASSIGN(key, smime_key(lease));
    KEYFENCE_TRY_ASSIGN(pem, mail::smime::sign_csr(req.get(), key, "sha256"));
    KEYFENCE_TRY(out.write(pem));
    return out.commit();
}

base::Status import_cert(const GlobalOptions& globals, const ImportCertOptions& options) {
    KEYFENCE_TRY_ASSIGN(certs, mail::smime::load_certificates(options.cert));
    if (certs.size() != 1) {
        return base::Error(base::ErrorCode::Usage,
                           options.cert + " holds " + std::to_string(certs.size()) +
                               " certificates; give the one issued for the key");
    }
    unsigned char* buf = nullptr;
    const int len = i2d_X509(certs.front().get(), &buf);
    std::vector<std::uint8_t> der(buf, buf + (len > 0 ? len : 0));
    OPENSSL_free(buf);
    auto engine = make_engine(globals);
    warn_module_failures(engine->module_failures());
    KEYFENCE_TRY_ASSIGN(match, engine->find_key(options.key_uri));
    const auto facts = mail::smime::describe(certs.front().get());
    engine::OperationRequest request;
    request.operation = engine::Operation::StoreCertificate;
    request.key_uri = options.key_uri;
    request.summary = {
        {"Certificate", facts.subject}, {"Issuer", facts.issuer}, {"SHA-256", facts.sha256}};
    KEYFENCE_TRY_ASSIGN(lease, engine->authorize(std::move(match), request));
    return lease.store_certificate(der, options.replace);
}
}  // namespace

void add_smime_enrollment(CommandContext& context, CLI::App* smime) {
    auto csr_options = std::make_shared<CsrOptions>();
    auto* c = smime->add_subcommand("csr", "Write a PKCS#10 request for a token key, signed on it");
    c->add_option("--key", csr_options->key_uri, "The key's PKCS#11 URI")->required();
    c->add_option("--email", csr_options->email, "The address to certify")->required();
    c->add_option("--subject", csr_options->subject, "Subject, e.g. /CN=Alice/O=Example");
    c->add_option("--out", csr_options->out, "Where to write the PEM request (default: stdout)");
    context.on_chosen(c, csr_options, [](const GlobalOptions& g, const CsrOptions& o) {
        return finish(csr(g, o));
    });

    auto import = std::make_shared<ImportCertOptions>();
    auto* i = smime->add_subcommand("import-cert",
                                    "Store the issued certificate on the token beside its key");
    i->add_option("--key", import->key_uri, "The key's PKCS#11 URI")->required();
    i->add_option("CERT", import->cert, "The certificate (PEM or DER)")->required();
    i->add_flag("--replace", import->replace, "Replace a different certificate already there");
    context.on_chosen(i, import, [](const GlobalOptions& g, const ImportCertOptions& o) {
        return finish(import_cert(g, o));
    });
}

}  // namespace keyfence::cli
