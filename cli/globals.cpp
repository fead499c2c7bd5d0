#include "cli/globals.hpp"

#include <cstdio>

#include "base/logger.hpp"
#include "token/pin/fd_pin_source.hpp"
#include "token/pin/pinentry_pin_source.hpp"

namespace keyfence::cli {

std::unique_ptr<engine::Engine> make_engine(const GlobalOptions& options) {
    engine::EngineOptions engine_options;
    engine_options.modules = options.modules;
    engine_options.use_registered_modules = !options.no_p11_kit;
    engine_options.demo_mode = options.demo;
    engine_options.lockout.allow_last_pin_try = options.allow_last_pin_try;
    return std::make_unique<engine::Engine>(std::move(engine_options), make_pin_source(options));
}

std::unique_ptr<token::PinSource> make_pin_source(const GlobalOptions& options) {
    if (options.pin_fd >= 0) {
        return std::make_unique<token::FdPinSource>(options.pin_fd, options.assume_confirmed);
    }
    return std::make_unique<token::PinentryPinSource>(options.pinentry);
}

void warn_module_failures(const std::vector<token::pkcs11::ModuleFailure>& failures) {
    for (const auto& f : failures) {
        std::fprintf(stderr, "keyfence: warning: skipped %s: %s\n", f.path.c_str(),
                     base::redact(f.error.message()).c_str());
    }
}

}  // namespace keyfence::cli
