#include "mail/pgp/keys.hpp"

#include <algorithm>
#include <cctype>

#include "mail/pgp/gpg_error.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool is_fingerprint(const std::string& s) {
    std::string hex = s.rfind("0x", 0) == 0 ? s.substr(2) : s;
    return hex.size() >= 16 && std::all_of(hex.begin(), hex.end(),
                                           [](unsigned char c) { return std::isxdigit(c) != 0; });
}

gpgme_subkey_t subkey_for(gpgme_key_t key, KeyUse use) {
    for (gpgme_subkey_t sub = key->subkeys; sub != nullptr; sub = sub->next) {
        if (sub->revoked || sub->expired || sub->disabled || sub->invalid) continue;
        if (use == KeyUse::Sign ? sub->can_sign : sub->can_encrypt) return sub;
    }
    return nullptr;
}

bool usable(gpgme_key_t key, KeyUse use, bool secret) {
    if (key->revoked || key->expired || key->disabled || key->invalid) return false;
    gpgme_subkey_t sub = subkey_for(key, use);
    return sub != nullptr && (!secret || sub->secret);
}

bool matches(gpgme_key_t key, const std::string& selector) {
    if (selector.empty()) return true;
    if (is_fingerprint(selector)) {
        std::string hex = selector.rfind("0x", 0) == 0 ? selector.substr(2) : selector;
        const std::string fpr = key->fpr != nullptr ? key->fpr : "";
        return fpr.size() >= hex.size() && lower(fpr.substr(fpr.size() - hex.size())) == lower(hex);
    }
    const auto addresses = key_addresses(key);
    return std::find(addresses.begin(), addresses.end(), lower(selector)) != addresses.end();
}
}  // namespace

std::vector<std::string> key_addresses(gpgme_key_t key) {
    std::vector<std::string> out;
    for (gpgme_user_id_t uid = key->uids; uid != nullptr; uid = uid->next) {
        if (uid->revoked || uid->invalid || uid->address == nullptr) continue;
        out.push_back(lower(uid->address));
    }
    return out;
}

gpgme_subkey_t signing_subkey(gpgme_key_t key) {
    return key != nullptr ? subkey_for(key, KeyUse::Sign) : nullptr;
}

KeyInfo describe(gpgme_key_t key, KeyUse use, const std::string& keyid) {
    KeyInfo info;
    info.fingerprint = key->fpr != nullptr ? key->fpr : "";
    for (gpgme_user_id_t uid = key->uids; uid != nullptr; uid = uid->next) {
        if (!uid->revoked && !uid->invalid && uid->uid != nullptr) info.uids.push_back(uid->uid);
    }
    info.addresses = key_addresses(key);
    gpgme_subkey_t sub = subkey_for(key, use);
    for (gpgme_subkey_t s = key->subkeys; s != nullptr && !keyid.empty(); s = s->next) {
        if (s->keyid != nullptr && keyid == s->keyid) sub = s;
    }
    if (sub != nullptr) {
        info.keygrip = sub->keygrip != nullptr ? sub->keygrip : "";
        info.on_token = sub->is_cardkey != 0;
        info.card_serial = sub->card_number != nullptr ? sub->card_number : "";
        if (char* name = gpgme_pubkey_algo_string(sub)) {
            info.algorithm = name;
            gpgme_free(name);
        }
    }
    return info;
}

base::Result<GpgmeKeyPtr> find_key(Context& ctx, const std::string& selector, KeyUse use,
                                   bool secret) {
    gpgme_ctx_t c = ctx.get();
    // Every key is listed and matched here, so that "a@b" never matches "xa@b.org" as gpg's
    // substring search would.
    if (auto err = gpgme_op_keylist_start(c, nullptr, secret ? 1 : 0); err != 0) {
        return gpg_error(err, "could not list the keys in " + ctx.homedir());
    }
    std::vector<GpgmeKeyPtr> found;
    std::string known;
    for (;;) {
        gpgme_key_t key = nullptr;
        if (gpgme_op_keylist_next(c, &key) != 0) break;
        GpgmeKeyPtr owned(key);
        if (key->fpr != nullptr) known += std::string("\n  ") + key->fpr;
        if (key->uids != nullptr && key->uids->uid != nullptr)
            known += std::string(" ") + key->uids->uid;
        if (matches(key, selector) && usable(key, use, secret)) found.push_back(std::move(owned));
    }
    gpgme_op_keylist_end(c);
    const std::string what = use == KeyUse::Sign ? "signing" : "encryption";
    if (found.empty()) {
        return base::Error(
            ErrorCode::KeyNotFound,
            "no usable OpenPGP " + what + " key" + (secret ? " on a token" : "") +
                (selector.empty() ? std::string() : " for " + selector) + " in " + ctx.homedir() +
                (known.empty() ? std::string(" (the keyring is empty)") : "; keys there:" + known),
            secret ? "bind a token key with 'keyfence pgp bind'"
                   : "import the key with 'keyfence pgp import FILE'");
    }
    if (found.size() > 1) {
        std::string list;
        for (const auto& k : found) list += std::string("\n  ") + k->fpr;
        return base::Error(ErrorCode::Ambiguous,
                           "several OpenPGP keys match" +
                               (selector.empty() ? std::string() : " " + selector) + ":" + list,
                           "name the key by its fingerprint");
    }
    return std::move(found.front());
}

base::Result<std::pair<GpgmeKeyPtr, std::string>> find_recipient_key(
    Context& ctx, const std::string& selector, const std::vector<std::string>& keyids) {
    gpgme_ctx_t c = ctx.get();
    if (auto err = gpgme_op_keylist_start(c, nullptr, 1); err != 0) {
        return gpg_error(err, "could not list the keys in " + ctx.homedir());
    }
    std::vector<std::pair<GpgmeKeyPtr, std::string>> found;
    for (;;) {
        gpgme_key_t key = nullptr;
        if (gpgme_op_keylist_next(c, &key) != 0) break;
        GpgmeKeyPtr owned(key);
        if (!matches(key, selector) || key->revoked || key->disabled || key->invalid) continue;
        for (gpgme_subkey_t sub = key->subkeys; sub != nullptr; sub = sub->next) {
            if (!sub->secret || !sub->can_encrypt || sub->keyid == nullptr) continue;
            if (std::find(keyids.begin(), keyids.end(), sub->keyid) != keyids.end()) {
                found.emplace_back(std::move(owned), sub->keyid);
                break;
            }
        }
    }
    gpgme_op_keylist_end(c);
    std::string ids;
    for (const auto& k : keyids) ids += (ids.empty() ? "" : ", ") + k;
    if (found.empty()) {
        return base::Error(ErrorCode::KeyNotFound,
                           "the message is encrypted to " + ids + ", none of them a token key" +
                               (selector.empty() ? std::string() : " of " + selector) + " in " +
                               ctx.homedir(),
                           "the message is not for you, or the key is not set up here");
    }
    if (found.size() > 1) {
        return base::Error(ErrorCode::Ambiguous,
                           "the message is encrypted to several token keys here (" + ids + ")",
                           "name the one to use with --key");
    }
    return std::move(found.front());
}

base::Result<int> import_keys(Context& ctx, std::string_view data) {
    auto in = gpgme_data_from(data);
    if (auto err = gpgme_op_import(ctx.get(), in.get()); err != 0) {
        return gpg_error(err, "the keys could not be imported", ErrorCode::BadInput);
    }
    gpgme_import_result_t result = gpgme_op_import_result(ctx.get());
    const int count = result != nullptr ? result->imported + result->unchanged : 0;
    if (count == 0) {
        return base::Error(ErrorCode::BadInput, "the input holds no OpenPGP key",
                           "give an exported public key (gpg --export --armor)");
    }
    return count;
}

}  // namespace keyfence::mail::pgp
