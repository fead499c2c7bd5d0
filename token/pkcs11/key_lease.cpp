#include "token/pkcs11/key_lease.hpp"

#include <openssl/rsa.h>

#include "base/logger.hpp"
#include "base/openssl_error.hpp"
#include "token/pin/login.hpp"
#include "token/pkcs11/ckr.hpp"
#include "token/pkcs11/public_key.hpp"

namespace keyfence::token::pkcs11 {
namespace {
using base::ErrorCode;

base::Status verify_signature(EVP_PKEY* public_key, Hash hash, SignPadding padding,
                              std::span<const std::uint8_t> digest,
                              std::span<const std::uint8_t> signature) {
    base::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(public_key, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), hash_md(hash)) <= 0) {
        return base::openssl_error(ErrorCode::Internal, "could not check the token's signature");
    }
    if (EVP_PKEY_get_base_id(public_key) == EVP_PKEY_RSA) {
        const bool pss = padding == SignPadding::Pss;
        if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(),
                                         pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) <= 0 ||
            (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) <= 0)) {
            return base::openssl_error(ErrorCode::Internal,
                                       "could not check the token's signature");
        }
    }
    if (EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                        digest.size()) != 1) {
        base::clear_openssl_errors();
        return base::Error(ErrorCode::ModuleFailure,
                           "the token returned a signature that does not verify with its public "
                           "key; it was withheld",
                           "the token or its module may be faulty; try again, and if it "
                           "persists stop using this token");
    }
    return {};
}

// One error for every failure of the data, so a padding oracle learns nothing (Marvin).
base::Error decryption_failed() {
    return base::Error(ErrorCode::BadInput, "decryption failed",
                       "the message may not be encrypted to this key, or it is damaged");
}

bool is_pin_or_device_failure(CK_RV rv) {
    const ErrorCode code = ckr_entry(rv).code;
    return code == ErrorCode::TokenRemoved || code == ErrorCode::PinLocked ||
           code == ErrorCode::Cancelled || rv == CKR_USER_NOT_LOGGED_IN ||
           rv == CKR_KEY_FUNCTION_NOT_PERMITTED || rv == CKR_MECHANISM_INVALID;
}
}  // namespace

Libp11Slots::Libp11Slots(Libp11Slots&& o) noexcept
    : ctx(std::exchange(o.ctx, nullptr)),
      slots(std::exchange(o.slots, nullptr)),
      count(std::exchange(o.count, 0)) {}

Libp11Slots::~Libp11Slots() {
    if (slots != nullptr) PKCS11_release_all_slots(ctx, slots, count);
}

base::Result<KeyLease> KeyLease::acquire(KeyMatch match, token::PinSource& source,
                                         token::PinRequest request,
                                         const token::LockoutOptions& lockout) {
    if (!match.key.supported) {
        return base::Error(
            ErrorCode::Unsupported,
            "the key " + match.key.uri + " cannot be used: " + match.key.unsupported_reason);
    }
    KeyLease lease(std::move(match));
    KEYFENCE_TRY_ASSIGN(session, Session::open(lease.m_match.module, lease.m_match.token.slot_id));
    lease.m_session.emplace(std::move(session));
    // Keys that check the PIN again for each operation (PIV slot 9c style) need it kept, in
    // locked memory, for this one lease; whether the key is such a key may only be known after
    // login, so keep it whenever the flag is set or not yet readable.
    const bool keep = lease.m_match.key.always_authenticate || !lease.m_match.key.usages_known;
    KEYFENCE_TRY_ASSIGN(pin,
                        token::log_in(*lease.m_session, source, std::move(request), lockout, keep));
    lease.m_kept_pin = std::move(pin);
    KEYFENCE_TRY(lease.find_private_key());
    if (!lease.m_match.key.always_authenticate) lease.m_kept_pin.reset();
    return lease;
}

KeyLease::KeyLease(KeyLease&& o) noexcept
    : m_match(std::move(o.m_match)),
      m_session(std::move(o.m_session)),
      m_kept_pin(std::move(o.m_kept_pin)),
      m_public_key(std::move(o.m_public_key)),
      m_libp11_slots(std::move(o.m_libp11_slots)),
      m_libp11_key(std::move(o.m_libp11_key)),
      m_operations(o.m_operations),
      m_keep_login(o.m_keep_login) {
    o.m_session.reset();
}

KeyLease::~KeyLease() {
    m_libp11_key.reset();
    m_libp11_slots.reset();
    // Logging out ends the login for every session of this process on the token, so no
    // unlocked state outlives the lease.
    // A PIN session that keeps the login logs out itself when it ends.
    if (m_session && !m_keep_login) m_session->logout();
}

base::Status KeyLease::find_private_key() {
    ObjectInfo& key = m_match.key;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    std::vector<CK_ATTRIBUTE> tmpl = {{CKA_CLASS, &cls, sizeof cls}};
    if (!key.id.empty()) tmpl.push_back({CKA_ID, key.id.data(), key.id.size()});
    KEYFENCE_TRY_ASSIGN(found, m_session->find(tmpl));
    if (found.size() > 1 && !key.label.empty()) {
        tmpl.push_back({CKA_LABEL, key.label.data(), key.label.size()});
        KEYFENCE_TRY_ASSIGN(narrowed, m_session->find(tmpl));
        found = std::move(narrowed);
    }
    if (found.empty()) {
        return base::Error(ErrorCode::KeyNotFound,
                           "the token has no private key for " + key.uri + " even after login",
                           "the token may hold only the certificate or public key for this id");
    }
    if (found.size() > 1) {
        return base::Error(ErrorCode::Ambiguous,
                           "the token holds several private keys with the "
                           "id and label of " +
                               key.uri);
    }
    read_private_key(*m_session, found.front(), key);
    if (!key.public_key.empty()) {
        KEYFENCE_TRY_ASSIGN(pub, public_key_from_spki(key.public_key));
        m_public_key = std::move(pub);
    } else if (key.algorithm == KeyAlgorithm::Rsa) {
        // RSA private key objects carry the modulus and public exponent (PKCS#11 3.0 §2.1.3).
        if (auto pub = public_key_from_object(*m_session, key.handle, CKK_RSA)) {
            m_public_key = std::move(*pub);
        }
    }
    return {};
}

base::Status KeyLease::authenticate_operation() {
    if (!m_match.key.always_authenticate) return {};
    return token::context_login(*m_session, m_kept_pin ? &*m_kept_pin : nullptr,
                                m_match.token.pin.protected_auth_path);
}

base::Result<std::vector<std::uint8_t>> KeyLease::sign_digest(Hash hash,
                                                              std::span<const std::uint8_t> digest,
                                                              SignPadding padding) {
    const ObjectInfo& key = m_match.key;
    if (!key.can_sign) {
        return base::Error(ErrorCode::PolicyDenied, "the key " + key.uri +
                                                        " is not a signing key "
                                                        "(CKA_SIGN is false)");
    }
    if (digest.size() != hash_size(hash)) {
        return base::Error(ErrorCode::Internal, "the digest does not match the hash");
    }
    if (!m_public_key) {
        return base::Error(ErrorCode::Unsupported,
                           "the token has no public key or certificate for " + key.uri +
                               ", so Keyfence cannot check the token's signature",
                           "write the key's certificate onto the token with the same id");
    }
    std::vector<std::uint8_t> data(digest.begin(), digest.end());
    CK_RSA_PKCS_PSS_PARAMS pss = pss_params(hash);
    CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
    if (key.algorithm == KeyAlgorithm::Rsa && padding == SignPadding::Pss) {
        mechanism = {CKM_RSA_PKCS_PSS, &pss, sizeof pss};
    } else if (key.algorithm == KeyAlgorithm::Rsa) {
        mechanism = {CKM_RSA_PKCS, nullptr, 0};
        KEYFENCE_TRY_ASSIGN(info, digest_info(hash, digest));
        data = std::move(info);
    } else if (padding == SignPadding::Pss) {
        return base::Error(ErrorCode::Usage, "PSS is an RSA padding; this is an EC key");
    }
    CK_FUNCTION_LIST* f = m_session->functions();
    const CK_SESSION_HANDLE s = m_session->handle();
    if (CK_RV rv = f->C_SignInit(s, &mechanism, key.handle); rv != CKR_OK) {
        return pkcs11_error(rv, "the token refused to start the signature");
    }
    KEYFENCE_TRY(authenticate_operation());
    CK_ULONG length = 0;
    if (CK_RV rv = f->C_Sign(s, data.data(), data.size(), nullptr, &length); rv != CKR_OK) {
        return pkcs11_error(rv, "the token failed to sign");
    }
    std::vector<std::uint8_t> signature(length);
    ++m_operations;
    if (CK_RV rv = f->C_Sign(s, data.data(), data.size(), signature.data(), &length);
        rv != CKR_OK) {
        return pkcs11_error(rv, "the token failed to sign");
    }
    signature.resize(length);
    if (key.algorithm == KeyAlgorithm::Ec) {
        KEYFENCE_TRY_ASSIGN(der, ecdsa_raw_to_der(signature));
        signature = std::move(der);
    }
    KEYFENCE_TRY(verify_signature(m_public_key.get(), hash, padding, digest, signature));
    return signature;
}

base::Result<base::SecureBuffer> KeyLease::decrypt(DecryptPadding padding,
                                                   std::span<const std::uint8_t> ciphertext) {
    const ObjectInfo& key = m_match.key;
    if (key.algorithm != KeyAlgorithm::Rsa) {
        return base::Error(ErrorCode::Unsupported, "only RSA keys decrypt; EC keys derive (ECDH)");
    }
    if (!key.can_decrypt) {
        return base::Error(ErrorCode::PolicyDenied, "the key " + key.uri +
                                                        " is not a decryption "
                                                        "key (CKA_DECRYPT is false)");
    }
    const bool sha256 = padding == DecryptPadding::OaepSha256;
    CK_RSA_PKCS_OAEP_PARAMS oaep{sha256 ? CKM_SHA256 : CKM_SHA_1,
                                 sha256 ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED,
                                 nullptr, 0};
    CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
    if (padding != DecryptPadding::Pkcs1v15) mechanism = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    CK_FUNCTION_LIST* f = m_session->functions();
    const CK_SESSION_HANDLE s = m_session->handle();
    if (CK_RV rv = f->C_DecryptInit(s, &mechanism, key.handle); rv != CKR_OK) {
        return pkcs11_error(rv, "the token refused to start the decryption");
    }
    KEYFENCE_TRY(authenticate_operation());
    std::vector<std::uint8_t> input(ciphertext.begin(), ciphertext.end());
    // The output is at most the modulus size; one call avoids a size query that some modules
    // answer differently for good and bad padding.
    base::SecureBuffer plain(static_cast<std::size_t>((key.bits + 7) / 8));
    std::vector<std::uint8_t> scratch(plain.capacity());
    CK_ULONG length = scratch.size();
    ++m_operations;
    const CK_RV rv = f->C_Decrypt(s, input.data(), input.size(), scratch.data(), &length);
    if (rv != CKR_OK) {
        OPENSSL_cleanse(scratch.data(), scratch.size());
        if (is_pin_or_device_failure(rv)) return pkcs11_error(rv, "the token failed to decrypt");
        return decryption_failed();
    }
    for (CK_ULONG i = 0; i < length; ++i) plain.push_back(scratch[i]);
    OPENSSL_cleanse(scratch.data(), scratch.size());
    return plain;
}

base::Result<base::SecureBuffer> KeyLease::derive_ecdh(std::span<const std::uint8_t> peer_point) {
    const ObjectInfo& key = m_match.key;
    if (key.algorithm != KeyAlgorithm::Ec || !key.can_derive) {
        return base::Error(ErrorCode::PolicyDenied,
                           "the key " + key.uri + " is not an EC key that may derive (CKA_DERIVE)");
    }
    std::vector<std::uint8_t> point(peer_point.begin(), peer_point.end());
    CK_ECDH1_DERIVE_PARAMS params{CKD_NULL, 0, nullptr, point.size(), point.data()};
    CK_MECHANISM mechanism{CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                           {CKA_KEY_TYPE, &type, sizeof type},
                           {CKA_TOKEN, &no, sizeof no},
                           {CKA_SENSITIVE, &no, sizeof no},
                           {CKA_EXTRACTABLE, &yes, sizeof yes}};
    CK_FUNCTION_LIST* f = m_session->functions();
    const CK_SESSION_HANDLE s = m_session->handle();
    CK_OBJECT_HANDLE secret = CK_INVALID_HANDLE;
    ++m_operations;
    if (CK_RV rv = f->C_DeriveKey(s, &mechanism, key.handle, tmpl, 5, &secret); rv != CKR_OK) {
        return pkcs11_error(rv, "the token failed to derive the shared secret");
    }
    CK_ATTRIBUTE value{CKA_VALUE, nullptr, 0};
    CK_RV rv = f->C_GetAttributeValue(s, secret, &value, 1);
    if (rv != CKR_OK) {
        f->C_DestroyObject(s, secret);
        return pkcs11_error(rv, "could not read the shared secret");
    }
    base::SecureBuffer shared(value.ulValueLen);
    std::vector<std::uint8_t> scratch(value.ulValueLen);
    value.pValue = scratch.data();
    rv = f->C_GetAttributeValue(s, secret, &value, 1);
    f->C_DestroyObject(s, secret);
    if (rv != CKR_OK) return pkcs11_error(rv, "could not read the shared secret");
    for (std::uint8_t b : scratch) shared.push_back(b);
    OPENSSL_cleanse(scratch.data(), scratch.size());
    return shared;
}

base::Result<EVP_PKEY*> KeyLease::evp_pkey() {
    if (m_libp11_key) return m_libp11_key.get();
    PKCS11_CTX* ctx = m_match.module->libp11_context();
    Libp11Slots slots;
    slots.ctx = ctx;
    if (PKCS11_enumerate_slots(ctx, &slots.slots, &slots.count) != 0) {
        return base::openssl_error(ErrorCode::ModuleFailure, "libp11 could not list the slots");
    }
    PKCS11_SLOT* slot = nullptr;
    for (unsigned int i = 0; i < slots.count; ++i) {
        if (PKCS11_get_slotid_from_slot(&slots.slots[i]) == m_match.token.slot_id)
            slot = &slots.slots[i];
    }
    PKCS11_KEY* keys = nullptr;
    unsigned int count = 0;
    if (slot == nullptr || slot->token == nullptr ||
        PKCS11_enumerate_keys(slot->token, &keys, &count) != 0) {
        return base::openssl_error(ErrorCode::Unsupported,
                                   "libp11 cannot use the keys of this token (libp11 0.4.12 fails "
                                   "on tokens that also hold EdDSA keys)")
            .with_hint("keep EdDSA keys on another token");
    }
    for (unsigned int i = 0; i < count; ++i) {
        const std::vector<std::uint8_t> id(keys[i].id, keys[i].id + keys[i].id_len);
        if (id != m_match.key.id) continue;
        EVP_PKEY* pkey = PKCS11_get_private_key(&keys[i]);
        if (pkey == nullptr) break;
        m_libp11_slots.emplace(std::move(slots));
        m_libp11_key.reset(pkey);
        return pkey;
    }
    return base::openssl_error(ErrorCode::KeyNotFound,
                               "libp11 does not see the key " + m_match.key.uri);
}

}  // namespace keyfence::token::pkcs11
