#include "token/openpgp/application_data.hpp"

#include <algorithm>
#include <cstdio>

#include "token/openpgp/tlv.hpp"

namespace keyfence::token::openpgp {
namespace {
base::Error malformed(const std::string& what) {
    return base::Error(base::ErrorCode::BadInput, "the card's " + what + " is malformed");
}

struct CurveOid {
    std::vector<std::uint8_t> oid;
    const char* name;
};

// OpenPGP card 3.4 §4.4.3.10 (and RFC 6637, RFC 8032 / draft curve OIDs GnuPG uses).
const std::vector<CurveOid>& curve_oids() {
    static const std::vector<CurveOid> k_curves = {
        {{0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, "P-256"},
        {{0x2B, 0x81, 0x04, 0x00, 0x22}, "P-384"},
        {{0x2B, 0x81, 0x04, 0x00, 0x23}, "P-521"},
        {{0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01}, "Ed25519"},
        {{0x2B, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01}, "Cv25519"},
        {{0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07}, "brainpoolP256r1"},
    };
    return k_curves;
}

struct Manufacturer {
    std::uint16_t id;
    const char* name;
};
// The registry GnuPG and the OpenPGP card specification keep (scd/app-openpgp.c).
constexpr Manufacturer k_manufacturers[] = {
    {0x0001, "PPC Card Systems"},
    {0x0002, "Prism"},
    {0x0003, "OpenFortress"},
    {0x0004, "Wewid"},
    {0x0005, "ZeitControl"},
    {0x0006, "Yubico"},
    {0x0007, "OpenKMS"},
    {0x0008, "LogoEmail"},
    {0x0009, "Fidesmo"},
    {0x000A, "VivoKey"},
    {0x000B, "Feitian"},
    {0x000D, "Dangerous Things"},
    {0x000E, "Excelsecu"},
    {0x000F, "Nitrokey"},
    {0x002A, "Magrathea"},
    {0x0042, "GnuPG e.V."},
    {0x1337, "Warsaw Hackerspace"},
    {0x2342, "warpzone"},
    {0x4354, "Confidential Technologies"},
    {0x5443, "TIF-IT"},
    {0x63AF, "Trustica"},
    {0xBA53, "c-base"},
    {0xBD0E, "Paranoidlabs"},
    {0xF1D0, "CanoKeys"},
    {0xF517, "FSIJ"},
    {0xF5EC, "F-Secure"},
};
}  // namespace

std::string_view slot_name(KeySlot slot) {
    switch (slot) {
        case KeySlot::Signature:
            return "sig";
        case KeySlot::Decryption:
            return "dec";
        case KeySlot::Authentication:
            return "aut";
    }
    return "sig";
}

std::string AlgorithmAttributes::describe() const {
    switch (kind) {
        case Kind::Rsa:
            return "RSA-" + std::to_string(rsa_bits);
        case Kind::Ecdsa:
            return "ECDSA " + curve;
        case Kind::Ecdh:
            return "ECDH " + curve;
        case Kind::EdDsa:
            return "EdDSA " + curve;
        case Kind::Unknown:
            break;
    }
    return "unknown algorithm";
}

AlgorithmAttributes parse_algorithm_attributes(std::span<const std::uint8_t> value) {
    AlgorithmAttributes a;
    a.raw.assign(value.begin(), value.end());
    if (value.empty()) return a;
    if (value[0] == 0x01 && value.size() >= 3) {  // RSA: 01, modulus bits (2), exponent bits (2)
        a.kind = AlgorithmAttributes::Kind::Rsa;
        a.rsa_bits = value[1] << 8 | value[2];
        return a;
    }
    if (value[0] == 0x12 || value[0] == 0x13 || value[0] == 0x16) {
        a.kind = value[0] == 0x12   ? AlgorithmAttributes::Kind::Ecdh
                 : value[0] == 0x13 ? AlgorithmAttributes::Kind::Ecdsa
                                    : AlgorithmAttributes::Kind::EdDsa;
        auto oid = value.subspan(1);
        // A trailing FF means "public key in import format included" (§4.4.3.10).
        if (!oid.empty() && oid.back() == 0xFF) oid = oid.first(oid.size() - 1);
        for (const CurveOid& c : curve_oids()) {
            if (std::equal(oid.begin(), oid.end(), c.oid.begin(), c.oid.end())) a.curve = c.name;
        }
        if (a.curve.empty()) a.kind = AlgorithmAttributes::Kind::Unknown;
    }
    return a;
}

base::Status parse_aid(std::span<const std::uint8_t> aid, ApplicationData& out) {
    // D2 76 00 01 24 01 | version (2) | manufacturer (2) | serial (4) | RFU (2)
    static constexpr std::uint8_t k_rid_pix[] = {0xD2, 0x76, 0x00, 0x01, 0x24, 0x01};
    if (aid.size() != 16 || !std::equal(std::begin(k_rid_pix), std::end(k_rid_pix), aid.begin())) {
        return malformed("application identifier (AID)");
    }
    std::copy(aid.begin(), aid.end(), out.aid.begin());
    out.version_major = aid[6];
    out.version_minor = aid[7];
    out.manufacturer = static_cast<std::uint16_t>(aid[8] << 8 | aid[9]);
    out.serial = static_cast<std::uint32_t>(aid[10]) << 24 |
                 static_cast<std::uint32_t>(aid[11]) << 16 |
                 static_cast<std::uint32_t>(aid[12]) << 8 | aid[13];
    return {};
}

base::Result<PinStatus> parse_pin_status(std::span<const std::uint8_t> c4) {
    if (c4.size() < 7) return malformed("PIN status (C4)");
    PinStatus p;
    p.pw1_valid_for_several_signatures = c4[0] != 0;
    p.pw1_max_length = c4[1] & 0x7F;
    p.reset_code_max_length = c4[2];
    p.pw3_max_length = c4[3] & 0x7F;
    p.pw1_tries = c4[4];
    p.reset_code_tries = c4[5];
    p.pw3_tries = c4[6];
    return p;
}

base::Result<std::uint32_t> parse_signature_counter(std::span<const std::uint8_t> do7a) {
    KEYFENCE_TRY_ASSIGN(counter, find_tlv(do7a, 0x93));
    if (!counter || counter->value.size() != 3) return malformed("signature counter (93)");
    const auto& v = counter->value;
    return static_cast<std::uint32_t>(v[0] << 16 | v[1] << 8 | v[2]);
}

base::Result<ApplicationData> parse_application_data(std::span<const std::uint8_t> do6e) {
    ApplicationData data;
    KEYFENCE_TRY_ASSIGN(aid, find_tlv(do6e, 0x4F));
    if (!aid) return malformed("application data (no AID)");
    KEYFENCE_TRY(parse_aid(aid->value, data));
    KEYFENCE_TRY_ASSIGN(historical, find_tlv(do6e, 0x5F52));
    // Historical bytes, card capabilities (§6.2): third byte bit 0x40 = extended Lc/Le.
    if (historical && historical->value.size() >= 4) {
        const auto h = historical->value;
        for (std::size_t i = 1; i + 3 < h.size(); ++i) {
            if (h[i] == 0x73) data.extended_length = (h[i + 3] & 0x40) != 0;
        }
    }
    KEYFENCE_TRY_ASSIGN(length_info, find_tlv(do6e, 0x7F66));
    if (length_info) data.extended_length = true;
    for (int slot = 0; slot < 3; ++slot) {
        KEYFENCE_TRY_ASSIGN(attrs, find_tlv(do6e, 0xC1 + static_cast<std::uint32_t>(slot)));
        if (attrs) data.algorithms[slot] = parse_algorithm_attributes(attrs->value);
    }
    KEYFENCE_TRY_ASSIGN(pins, find_tlv(do6e, 0xC4));
    if (!pins) return malformed("application data (no PIN status)");
    KEYFENCE_TRY_ASSIGN(pin_status, parse_pin_status(pins->value));
    data.pins = pin_status;
    KEYFENCE_TRY_ASSIGN(fingerprints, find_tlv(do6e, 0xC5));
    if (fingerprints && fingerprints->value.size() >= 60) {
        for (int slot = 0; slot < 3; ++slot) {
            auto fp = fingerprints->value.subspan(static_cast<std::size_t>(slot) * 20, 20);
            if (std::any_of(fp.begin(), fp.end(), [](std::uint8_t b) { return b != 0; })) {
                data.fingerprints[slot].assign(fp.begin(), fp.end());
            }
        }
    }
    KEYFENCE_TRY_ASSIGN(times, find_tlv(do6e, 0xCD));
    if (times && times->value.size() >= 12) {
        for (int slot = 0; slot < 3; ++slot) {
            const auto t = times->value.subspan(static_cast<std::size_t>(slot) * 4, 4);
            data.generation_times[slot] = static_cast<std::uint32_t>(t[0]) << 24 |
                                          static_cast<std::uint32_t>(t[1]) << 16 |
                                          static_cast<std::uint32_t>(t[2]) << 8 | t[3];
        }
    }
    return data;
}

std::string ApplicationData::serial_text() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04X%08X", manufacturer, serial);
    return buf;
}

std::string ApplicationData::manufacturer_name() const {
    for (const Manufacturer& m : k_manufacturers) {
        if (m.id == manufacturer) return m.name;
    }
    if (manufacturer >= 0xFF00) return "test card (unregistered range)";
    return "unknown manufacturer";
}

}  // namespace keyfence::token::openpgp
