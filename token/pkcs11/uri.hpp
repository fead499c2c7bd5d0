#pragma once
// PKCS#11 URIs (RFC 7512) through p11-kit's parser and formatter.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "token/pkcs11/pkcs11.hpp"

struct p11_kit_uri;

namespace keyfence::token::pkcs11 {

struct UriDeleter {
    void operator()(p11_kit_uri* uri) const noexcept;
};

/// A parsed selector. PINs never come from URIs: `pin-value` and `pin-source` are refused, and
/// so is any attribute p11-kit does not recognise (it would silently widen the match).
class Uri {
  public:
    /// Parses `text` ("pkcs11:token=...;object=..."). Errors: Usage, naming the problem.
    static base::Result<Uri> parse(std::string_view text);

    bool matches_module(const CK_INFO& info, const std::string& module_path) const;
    bool matches_slot(const CK_SLOT_INFO& info, CK_SLOT_ID slot) const;
    bool matches_token(const CK_TOKEN_INFO& info) const;
    /// Matches the object attributes (type, id, object); absent ones match anything.
    bool matches_object(CK_OBJECT_CLASS object_class, std::span<const std::uint8_t> id,
                        std::string_view label) const;

    const std::string& text() const noexcept { return m_text; }

  private:
    std::string m_text;
    std::shared_ptr<p11_kit_uri> m_uri;
};

/// The canonical token URI: token, manufacturer, serial, model.
std::string format_token_uri(const CK_TOKEN_INFO& token);
/// The canonical object URI: the token attributes plus id, object (label) and type.
std::string format_object_uri(const CK_TOKEN_INFO& token, CK_OBJECT_CLASS object_class,
                              std::span<const std::uint8_t> id, std::string_view label);

}  // namespace keyfence::token::pkcs11
