#include "algorithm_attributes.hpp"

#include <algorithm>
#include <array>

namespace keyfence::vcard {
namespace {

struct CurveOid {
    Curve curve;
    Bytes oid;
};

// OpenPGP card 3.4 §4.4.3.9 lists these OIDs; GnuPG ≥ 2.3 may also write the
// RFC 8410 ids (1.3.101.110/112), which we accept as synonyms.
const std::array<CurveOid, 6>& known_oids() {
    static const std::array<CurveOid, 6> k_oids{{
        {Curve::P256, {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}},
        {Curve::P384, {0x2B, 0x81, 0x04, 0x00, 0x22}},
        {Curve::Ed25519, {0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01}},
        {Curve::X25519, {0x2B, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01}},
        {Curve::Ed25519, {0x2B, 0x65, 0x70}},
        {Curve::X25519, {0x2B, 0x65, 0x6E}},
    }};
    return k_oids;
}

bool fits_slot(KeyAlgorithm algo, Curve curve, KeySlot slot) {
    switch (algo) {
        case KeyAlgorithm::Rsa:
            return true;
        case KeyAlgorithm::Ecdh:
            return slot == KeySlot::Decryption &&
                   (curve == Curve::P256 || curve == Curve::P384 || curve == Curve::X25519);
        case KeyAlgorithm::Ecdsa:
            return slot != KeySlot::Decryption && (curve == Curve::P256 || curve == Curve::P384);
        case KeyAlgorithm::Eddsa:
            return slot != KeySlot::Decryption && curve == Curve::Ed25519;
    }
    return false;
}

}  // namespace

Bytes curve_oid(Curve curve) {
    for (const CurveOid& c : known_oids()) {
        if (c.curve == curve) return c.oid;
    }
    return {};
}

std::optional<AlgorithmAttributes> AlgorithmAttributes::parse(ByteView data, KeySlot slot) {
    if (data.empty()) return std::nullopt;
    AlgorithmAttributes a;
    a.raw.assign(data.begin(), data.end());
    if (data[0] == static_cast<std::uint8_t>(KeyAlgorithm::Rsa)) {
        // 01 | n bits (2) | e bits (2) | import format (1); format byte optional in v2.
        if (data.size() != 5 && data.size() != 6) return std::nullopt;
        a.algorithm = KeyAlgorithm::Rsa;
        a.rsa_bits = static_cast<std::uint16_t>(data[1] << 8 | data[2]);
        a.rsa_e_bits = static_cast<std::uint16_t>(data[3] << 8 | data[4]);
        a.rsa_import_format = data.size() == 6 ? data[5] : 0;
        if (a.rsa_bits != 2048 && a.rsa_bits != 3072 && a.rsa_bits != 4096) return std::nullopt;
        if (a.rsa_e_bits < 17 || a.rsa_e_bits > 32 || a.rsa_import_format > 3) return std::nullopt;
        return a;
    }
    if (data[0] != 0x12 && data[0] != 0x13 && data[0] != 0x16) return std::nullopt;
    a.algorithm = static_cast<KeyAlgorithm>(data[0]);
    // ECC: algo | OID [| FF = import format "with public key"] (§4.4.3.9).
    ByteView oid = data.subspan(1);
    if (!oid.empty() && oid.back() == 0xFF) oid = oid.first(oid.size() - 1);
    for (const CurveOid& c : known_oids()) {
        if (std::equal(oid.begin(), oid.end(), c.oid.begin(), c.oid.end())) a.curve = c.curve;
    }
    if (a.curve == Curve::None || !fits_slot(a.algorithm, a.curve, slot)) return std::nullopt;
    return a;
}

AlgorithmAttributes AlgorithmAttributes::rsa(std::uint16_t bits) {
    AlgorithmAttributes a;
    a.algorithm = KeyAlgorithm::Rsa;
    a.rsa_bits = bits;
    a.rsa_e_bits = 17;
    a.rsa_import_format = 0;
    a.raw = {
        0x01, static_cast<std::uint8_t>(bits >> 8), static_cast<std::uint8_t>(bits), 0x00, 0x11,
        0x00};
    return a;
}

AlgorithmAttributes AlgorithmAttributes::ecc(Curve curve, KeySlot slot) {
    AlgorithmAttributes a;
    a.curve = curve;
    if (curve == Curve::Ed25519) {
        a.algorithm = KeyAlgorithm::Eddsa;
    } else if (curve == Curve::X25519 || slot == KeySlot::Decryption) {
        a.algorithm = KeyAlgorithm::Ecdh;
    } else {
        a.algorithm = KeyAlgorithm::Ecdsa;
    }
    a.raw.push_back(static_cast<std::uint8_t>(a.algorithm));
    append(a.raw, curve_oid(curve));
    return a;
}

std::size_t AlgorithmAttributes::field_bytes() const {
    switch (curve) {
        case Curve::P256:
        case Curve::Ed25519:
        case Curve::X25519:
            return 32;
        case Curve::P384:
            return 48;
        case Curve::None:
            break;
    }
    return 0;
}

std::string AlgorithmAttributes::name() const {
    switch (curve) {
        case Curve::P256:
            return "nistp256";
        case Curve::P384:
            return "nistp384";
        case Curve::Ed25519:
            return "ed25519";
        case Curve::X25519:
            return "cv25519";
        case Curve::None:
            break;
    }
    return "rsa" + std::to_string(rsa_bits);
}

std::optional<AlgorithmAttributes> AlgorithmAttributes::from_name(const std::string& n,
                                                                  KeySlot slot) {
    if (n == "rsa2048") return rsa(2048);
    if (n == "rsa3072") return rsa(3072);
    if (n == "rsa4096") return rsa(4096);
    Curve c = Curve::None;
    if (n == "nistp256") c = Curve::P256;
    if (n == "nistp384") c = Curve::P384;
    if (n == "ed25519") c = Curve::Ed25519;
    if (n == "cv25519") c = Curve::X25519;
    if (c == Curve::None) return std::nullopt;
    AlgorithmAttributes a = ecc(c, slot);
    if (!fits_slot(a.algorithm, c, slot)) return std::nullopt;
    return a;
}

}  // namespace keyfence::vcard
