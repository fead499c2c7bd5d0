#include "token/pin/pinentry_pin_source.hpp"

#include <assuan.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace keyfence::token {
namespace {

void* secure_malloc(size_t size) {
    return OPENSSL_secure_malloc(size);
}

void secure_free(void* p) {
    if (p == nullptr) return;
    if (CRYPTO_secure_allocated(p)) {
        OPENSSL_secure_clear_free(p, CRYPTO_secure_actual_size(p));
    } else {
        OPENSSL_free(p);  // only when the secure heap was never created
    }
}

void* secure_realloc(void* p, size_t size) {
    if (p == nullptr) return secure_malloc(size);
    void* fresh = OPENSSL_secure_malloc(size);
    if (fresh == nullptr) return nullptr;
    const size_t old = CRYPTO_secure_allocated(p) ? CRYPTO_secure_actual_size(p) : size;
    std::memcpy(fresh, p, old < size ? old : size);
    secure_free(p);
    return fresh;
}

struct assuan_malloc_hooks k_secure_hooks = {secure_malloc, secure_realloc, secure_free};

struct AssuanDeleter {
    void operator()(assuan_context_s* ctx) const noexcept { assuan_release(ctx); }
};
using AssuanPtr = std::unique_ptr<assuan_context_s, AssuanDeleter>;

base::Error assuan_failure(gpg_error_t err, std::string context) {
    const bool cancelled =
        gpg_err_code(err) == GPG_ERR_CANCELED || gpg_err_code(err) == GPG_ERR_ASS_CANCELED;
    base::Error e(
        cancelled ? base::ErrorCode::Cancelled : base::ErrorCode::Io,
        cancelled ? "PIN entry was cancelled; nothing was sent to the token" : std::move(context));
    e.from(base::Origin::Assuan, err, gpg_strerror(err));
    return e;
}

// Assuan data lines carry the PIN percent-escaped (Assuan §3.2); decode straight into the Pin.
struct PinCollector {
    base::Pin pin;
    int pending = -1;  // -1: no escape, >=0: digits seen so far in an escape (value in 'value')
    int value = 0;
    bool overflow = false;
};

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

gpg_error_t collect_pin(void* opaque, const void* buffer, size_t length) {
    auto* collector = static_cast<PinCollector*>(opaque);
    const char* data = static_cast<const char*>(buffer);
    for (size_t i = 0; i < length; ++i) {
        std::uint8_t byte;
        if (collector->pending >= 0) {
            const int v = hex_value(data[i]);
            if (v < 0) return gpg_error(GPG_ERR_ASS_PARAMETER);
            collector->value = collector->value * 16 + v;
            if (++collector->pending < 2) continue;
            byte = static_cast<std::uint8_t>(collector->value);
            collector->pending = -1;
        } else if (data[i] == '%') {
            collector->pending = 0;
            collector->value = 0;
            continue;
        } else {
            byte = static_cast<std::uint8_t>(data[i]);
        }
        if (!collector->pin.push_back(byte)) collector->overflow = true;
    }
    return 0;
}

class PinentryConnection {
  public:
    static base::Result<PinentryConnection> start(const std::string& program) {
        assuan_context_t raw = nullptr;
        if (gpg_error_t err =
                assuan_new_ext(&raw, GPG_ERR_SOURCE_DEFAULT, &k_secure_hooks, nullptr, nullptr)) {
            return assuan_failure(err, "could not set up the pinentry connection");
        }
        AssuanPtr ctx(raw);
        const char* argv[] = {program.c_str(), nullptr};
        if (gpg_error_t err = assuan_pipe_connect(ctx.get(), program.c_str(), argv, nullptr,
                                                  nullptr, nullptr, 0)) {
            return assuan_failure(err, "could not start the pinentry program '" + program + "'")
                .with_hint(
                    "install pinentry-curses or pinentry-gnome3, name another with "
                    "--pinentry, or give the PIN on a file descriptor with --pin-fd");
        }
        PinentryConnection connection(std::move(ctx));
        if (isatty(STDIN_FILENO)) {
            if (const char* tty = ttyname(STDIN_FILENO)) connection.option("ttyname", tty);
            if (const char* term = std::getenv("TERM")) connection.option("ttytype", term);
        }
        return connection;
    }

    base::Status command(const std::string& line) {
        if (gpg_error_t err = assuan_transact(m_ctx.get(), line.c_str(), nullptr, nullptr, nullptr,
                                              nullptr, nullptr, nullptr)) {
            return assuan_failure(
                err, "the pinentry program refused '" + line.substr(0, line.find(' ')) + "'");
        }
        return {};
    }

    void option(const std::string& name, const std::string& value) {
        // Older pinentries lack some options; that is not an error.
        (void)command("OPTION " + name + "=" + assuan_escape(value));
    }

    base::Result<base::Pin> get_pin() {
        PinCollector collector;
        // Keeps the PIN out of libassuan's logging (Assuan "confidential" mode).
        assuan_begin_confidential(m_ctx.get());
        gpg_error_t err = assuan_transact(m_ctx.get(), "GETPIN", collect_pin, &collector, nullptr,
                                          nullptr, nullptr, nullptr);
        assuan_end_confidential(m_ctx.get());
        if (err) return assuan_failure(err, "the pinentry program failed to read the PIN");
        if (collector.overflow || collector.pending >= 0) {
            return base::Error(base::ErrorCode::PinInvalid,
                               "the PIN from pinentry is too long "
                               "or malformed; nothing was sent");
        }
        return std::move(collector.pin);
    }

  private:
    explicit PinentryConnection(AssuanPtr ctx) : m_ctx(std::move(ctx)) {}
    AssuanPtr m_ctx;
};
}  // namespace

std::string assuan_escape(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c == '%' || c == '\r' || c == '\n' || c < 0x20) {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

base::Result<base::Pin> PinentryPinSource::ask(const PinRequest& request) {
    KEYFENCE_TRY_ASSIGN(pinentry, PinentryConnection::start(m_program));
    KEYFENCE_TRY(pinentry.command("SETTITLE " + assuan_escape("Keyfence: token PIN")));
    KEYFENCE_TRY(pinentry.command("SETDESC " + assuan_escape(request.description())));
    KEYFENCE_TRY(pinentry.command("SETPROMPT PIN:"));
    if (const std::string warning = request.warning(); !warning.empty()) {
        KEYFENCE_TRY(pinentry.command("SETERROR " + assuan_escape(warning)));
    }
    return pinentry.get_pin();
}

base::Status PinentryPinSource::confirm(const PinRequest& request) {
    KEYFENCE_TRY_ASSIGN(pinentry, PinentryConnection::start(m_program));
    KEYFENCE_TRY(pinentry.command("SETTITLE " + assuan_escape("Keyfence: confirm")));
    KEYFENCE_TRY(pinentry.command("SETDESC " + assuan_escape(request.description())));
    KEYFENCE_TRY(pinentry.command("SETOK " + assuan_escape("Confirm " + request.operation)));
    // Assuan pinentry CONFIRM: OK when the user accepts, GPG_ERR_CANCELED when not.
    if (auto confirmed = pinentry.command("CONFIRM"); !confirmed) {
        if (confirmed.error().code == base::ErrorCode::Cancelled) {
            return confirmation_refused("declined in pinentry");
        }
        return confirmed;
    }
    return {};
}

void PinentryPinSource::use_pin_pad(const PinRequest& request) {
    // Not a pinentry MESSAGE: it would wait for an OK while the token waits for its pad.
    std::fprintf(stderr, "%s\nEnter the PIN on the token's PIN pad.\n",
                 request.description().c_str());
}

}  // namespace keyfence::token
