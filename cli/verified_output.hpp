#pragma once
// Where `smime verify --out` and `pgp verify --out` put the signed content: into the output's
// temporary file as it is verified, made visible only when the message verified
// (base::AtomicOutput), so a message that does not verify leaves no output at all.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/atomic_output.hpp"
#include "base/result.hpp"

namespace keyfence::cli {

class VerifiedOutput {
  public:
    /// No output when `path` is empty. Errors: those of AtomicOutput::open.
    static base::Result<VerifiedOutput> open(const std::string& path) {
        VerifiedOutput v;
        if (path.empty()) return v;
        KEYFENCE_TRY_ASSIGN(out, base::AtomicOutput::open(path));
        v.m_out.emplace(std::move(out));
        return v;
    }

    /// For the verifier's content callback; empty when there is no output. The first write
    /// error is kept for commit().
    std::function<void(std::string_view)> sink() {
        if (!m_out) return {};
        return [this](std::string_view bytes) {
            if (m_written) m_written = m_out->write(bytes);
        };
    }

    /// Call only for a message that verified: the output appears whole. Errors: a write error,
    /// or commit's.
    base::Status commit() {
        if (!m_out) return {};
        KEYFENCE_TRY(m_written);
        return m_out->commit();
    }

  private:
    VerifiedOutput() = default;
    std::optional<base::AtomicOutput> m_out;
    base::Status m_written;
};

}  // namespace keyfence::cli
