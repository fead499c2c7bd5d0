#include "mail/mime/sender.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace keyfence::mail::mime {
namespace {

// Lower case, surrounding quotes and white space removed, inner white space collapsed: how a
// reader would see a display name.
std::string normalise_name(std::string_view name) {
    std::string out;
    bool space = false;
    for (char c : name) {
        if (c == '"' || c == '\'') continue;
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
}

void collect(InternetAddressList* list, std::vector<Mailbox>& out) {
    if (list == nullptr) return;
    for (int i = 0; i < internet_address_list_length(list); ++i) {
        InternetAddress* a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_GROUP(a)) {
            collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out);
            continue;
        }
        if (!INTERNET_ADDRESS_IS_MAILBOX(a)) continue;
        const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
        const char* name = internet_address_get_name(a);
        // GMime turns a bare word ("From: The Manager") into a mailbox without a domain.
        std::string address = addr != nullptr ? ascii_lower(addr) : "";
        if (address.find('@') == std::string::npos) {
            out.push_back({address.empty() ? (name != nullptr ? name : "") : addr, ""});
            continue;
        }
        out.push_back({name != nullptr ? name : "", address});
    }
}

std::string header_text(GMimeHeader* header) {
    const char* value = g_mime_header_get_value(header);
    return value != nullptr ? value : "";
}

std::string addresses_of(const std::vector<Mailbox>& boxes) {
    std::string s;
    for (const auto& b : boxes) {
        if (b.address.empty()) continue;
        s += (s.empty() ? "" : ", ") + quote(b.address);
    }
    return s.empty() ? "none" : s;
}

bool has(const std::vector<std::string>& items, const std::string& item) {
    return std::find(items.begin(), items.end(), item) != items.end();
}

// Code points a terminal shows as nothing, or that reorder what follows.
bool invisible(std::uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff ||
           (cp >= 0xfff9 && cp <= 0xfffb) || cp == 0x061c || cp == 0x00ad;
}

// Decodes one UTF-8 sequence at `s[i]`; returns its length, 0 when invalid.
std::size_t utf8_at(std::string_view s, std::size_t i, std::uint32_t& cp) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    cp = b & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (c & 0x3f);
    }
    const std::uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

}  // namespace

std::string ascii_lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string quote(std::string_view text) {
    std::string out = "\"";
    char buf[16];
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else {
            std::uint32_t cp = 0;
            const std::size_t n = utf8_at(text, i, cp);
            if (n == 0) {
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
                ++i;
            } else if (invisible(cp)) {
                std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
                out += buf;
                i += n;
            } else {
                out.append(text.substr(i, n));
                i += n;
            }
        }
    }
    return out + "\"";
}

SenderHeaders sender_headers(GMimeMessage* message) {
    SenderHeaders h;
    GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(message));
    const int count = list != nullptr ? g_mime_header_list_get_count(list) : 0;
    for (int i = 0; i < count; ++i) {
        GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
        const std::string name = ascii_lower(g_mime_header_get_name(header));
        if (name != "from" && name != "sender") continue;
        const char* raw = g_mime_header_get_raw_value(header);
        InternetAddressList* parsed = internet_address_list_parse(nullptr, raw ? raw : "");
        if (name == "from") {
            if (h.from_fields++ == 0) h.from_text = header_text(header);
            collect(parsed, h.from);
        } else {
            h.sender_text = header_text(header);
            collect(parsed, h.sender);
        }
        if (parsed != nullptr) g_object_unref(parsed);
    }
    return h;
}

SenderCheck check_sender(const SenderHeaders& h, const std::vector<SignerIdentity>& signers) {
    if (h.from_fields == 0) {
        return {"no_from",
                "the message has no From: header, so there is no sender the "
                "signature could be from"};
    }
    if (h.from_fields > 1) {
        return {"several_from_fields",
                "the message has " + std::to_string(h.from_fields) +
                    " From: header fields; a mail program may show any one of them"};
    }
    const auto with_address = std::count_if(h.from.begin(), h.from.end(),
                                            [](const Mailbox& b) { return !b.address.empty(); });
    if (with_address == 0) {
        return {"from_without_address",
                "the From: header " + quote(h.from_text) +
                    " holds no mailbox that reads as one address (only a name, nothing, or a "
                    "malformed field)"};
    }
    if (h.from.size() != 1) {
        return {"several_from_addresses", "the From: header " + quote(h.from_text) +
                                              " names more than one mailbox (" +
                                              addresses_of(h.from) + ")"};
    }
    const Mailbox& from = h.from.front();
    if (from.name.find('@') != std::string::npos &&
        normalise_name(from.name) != normalise_name(from.address)) {
        return {"display_name_is_an_address", "the From: display name " + quote(from.name) +
                                                  " looks like an address, but the address is " +
                                                  quote(from.address)};
    }
    for (const auto& s : h.sender) {
        if (s.address != from.address) {
            return {"sender_differs",
                    "the Sender: header " + quote(h.sender_text) +
                        " names another mailbox than From: " + quote(from.address)};
        }
    }
    for (std::size_t i = 0; i < signers.size(); ++i) {
        if (!has(signers[i].addresses, from.address)) {
            std::string theirs;
            for (const auto& a : signers[i].addresses) {
                theirs += (theirs.empty() ? "" : ", ") + quote(a);
            }
            return {"signer_is_not_from",
                    "the From: address " + quote(from.address) + " is not the signer's address " +
                        "(signer " + std::to_string(i + 1) + ": " +
                        (theirs.empty() ? "none" : theirs) +
                        "): the signature is valid, but not from the sender this message claims"};
        }
    }
    const std::string name = normalise_name(from.name);
    if (!name.empty() && name != from.address) {
        for (const auto& s : signers) {
            const bool certified =
                std::any_of(s.names.begin(), s.names.end(),
                            [&](const std::string& n) { return normalise_name(n) == name; });
            if (!certified) {
                return {"display_name_not_certified",
                        "the From: display name " + quote(from.name) +
                            " is not a name the signer's certificate or key carries; the "
                            "signature vouches only for " +
                            quote(from.address)};
            }
        }
    }
    return {};
}

}  // namespace keyfence::mail::mime
