#include "mail/pgp/agent_connection.hpp"

#include "mail/pgp/context.hpp"
#include "mail/pgp/gnupg_tool.hpp"
#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {

gpgme_error_t agent_transact(gpgme_ctx_t ctx, const std::string& command,
                             gpgme_assuan_data_cb_t data, void* data_value,
                             gpgme_assuan_inquire_cb_t inquire, void* inquire_value) {
    gpgme_error_t op_err = 0;
    const gpgme_error_t err = gpgme_op_assuan_transact_ext(
        ctx, command.c_str(), data, data_value, inquire, inquire_value, nullptr, nullptr, &op_err);
    return err != 0 ? err : op_err;
}

base::Result<GpgmeCtxPtr> agent_context(const std::string& homedir) {
    KEYFENCE_TRY(gpgme_ready());
    (void)run_tool({"gpgconf", "--homedir", homedir, "--launch", "gpg-agent"});
    auto socket = run_tool({"gpgconf", "--homedir", homedir, "--list-dirs", "agent-socket"});
    if (!socket || socket->empty()) {
        return base::Error(base::ErrorCode::Io, "the gpg-agent of " + homedir + " cannot be found");
    }
    while (!socket->empty() && (socket->back() == '\n' || socket->back() == '\r')) {
        socket->pop_back();
    }
    gpgme_ctx_t raw = nullptr;
    if (auto err = gpgme_new(&raw); err != 0) return gpg_error(err, "could not start GPGME");
    GpgmeCtxPtr ctx(raw);
    if (auto err = gpgme_set_protocol(raw, GPGME_PROTOCOL_ASSUAN); err != 0) {
        return gpg_error(err, "GPGME has no Assuan protocol");
    }
    if (auto err =
            gpgme_ctx_set_engine_info(raw, GPGME_PROTOCOL_ASSUAN, socket->c_str(), homedir.c_str());
        err != 0) {
        return gpg_error(err, "could not reach the gpg-agent of " + homedir, base::ErrorCode::Io);
    }
    if (auto err = agent_transact(raw, "OPTION pinentry-mode=loopback"); err != 0) {
        return gpg_error(err, "the gpg-agent refuses loopback PIN entry",
                         base::ErrorCode::ModuleFailure);
    }
    return ctx;
}

}  // namespace keyfence::mail::pgp
