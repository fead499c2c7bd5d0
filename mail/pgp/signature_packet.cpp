#include "mail/pgp/signature_packet.hpp"

#include <algorithm>

#include "base/hex.hpp"

namespace keyfence::mail::pgp {
namespace {
using base::ErrorCode;

constexpr std::uint8_t k_version = 4;
constexpr std::uint8_t k_binary_document = 0x00;
constexpr std::uint8_t k_subpacket_created = 2;
constexpr std::uint8_t k_subpacket_issuer = 16;
constexpr std::uint8_t k_subpacket_issuer_fingerprint = 33;

void put16(std::string& out, std::size_t value) {
    out += static_cast<char>((value >> 8) & 0xff);
    out += static_cast<char>(value & 0xff);
}

void put32(std::string& out, std::uint32_t value) {
    put16(out, value >> 16);
    put16(out, value & 0xffff);
}

// A subpacket whose length fits one octet (RFC 4880 §5.2.3.1): all of ours do.
std::string subpacket(std::uint8_t type, std::string_view body) {
    std::string out;
    out += static_cast<char>(body.size() + 1);
    out += static_cast<char>(type);
    out += body;
    return out;
}

std::string hashed_subpackets(const SignatureParams& params) {
    std::string fpr(1, static_cast<char>(k_version));
    fpr.append(reinterpret_cast<const char*>(params.issuer.data()), params.issuer.size());
    std::string created;
    put32(created, params.created);
    return subpacket(k_subpacket_issuer_fingerprint, fpr) + subpacket(k_subpacket_created, created);
}

// Version to the hashed subpackets: the part of the packet that is also hashed.
std::string hashed_part(const SignatureParams& params) {
    std::string out;
    out += static_cast<char>(k_version);
    out += static_cast<char>(k_binary_document);
    out += static_cast<char>(params.pubkey_algo);
    out += static_cast<char>(params.hash_algo);
    const std::string subpackets = hashed_subpackets(params);
    put16(out, subpackets.size());
    out += subpackets;
    return out;
}

// RFC 4880 §6.1.
std::uint32_t crc24(std::string_view bytes) {
    std::uint32_t crc = 0xB704CEu;
    for (unsigned char c : bytes) {
        crc ^= static_cast<std::uint32_t>(c) << 16;
        for (int i = 0; i < 8; ++i) {
            crc <<= 1;
            if ((crc & 0x1000000u) != 0) crc ^= 0x1864CFBu;
        }
    }
    return crc & 0xFFFFFFu;
}

}  // namespace

base::Result<std::array<std::uint8_t, 20>> fingerprint_bytes(std::string_view hex) {
    std::array<std::uint8_t, 20> out{};
    const auto bytes = hex.find(':') == std::string_view::npos ? base::from_hex(hex) : std::nullopt;
    if (!bytes || bytes->size() != out.size()) {
        return base::Error(ErrorCode::BadInput,
                           "not a v4 OpenPGP fingerprint: " + std::string(hex));
    }
    std::copy(bytes->begin(), bytes->end(), out.begin());
    return out;
}

std::string hash_trailer(const SignatureParams& params) {
    std::string out = hashed_part(params);
    const auto length = static_cast<std::uint32_t>(out.size());
    out += static_cast<char>(k_version);
    out += static_cast<char>(0xff);
    put32(out, length);
    return out;
}

std::string mpi(std::span<const std::uint8_t> value) {
    while (!value.empty() && value.front() == 0) value = value.subspan(1);
    std::size_t bits = value.size() * 8;
    if (!value.empty()) {
        for (std::uint8_t top = value.front(); (top & 0x80) == 0; top <<= 1) --bits;
    }
    std::string out;
    put16(out, bits);
    out.append(reinterpret_cast<const char*>(value.data()), value.size());
    return out;
}

std::string signature_packet(const SignatureParams& params, std::span<const std::uint8_t> digest,
                             const std::vector<std::string>& mpis) {
    std::string body = hashed_part(params);
    // The issuer key ID is the fingerprint's last eight bytes (RFC 4880 §12.2).
    const std::string keyid(reinterpret_cast<const char*>(params.issuer.data()) + 12, 8);
    const std::string unhashed = subpacket(k_subpacket_issuer, keyid);
    put16(body, unhashed.size());
    body += unhashed;
    body += static_cast<char>(digest.size() > 0 ? digest[0] : 0);
    body += static_cast<char>(digest.size() > 1 ? digest[1] : 0);
    for (const auto& m : mpis) body += m;
    // An old-format header, tag 2, as gpg writes it: two length octets (RFC 4880 §4.2.1).
    std::string packet;
    if (body.size() < 256) {
        packet += static_cast<char>(0x88);
        packet += static_cast<char>(body.size());
    } else {
        packet += static_cast<char>(0x89);
        put16(packet, body.size());
    }
    return packet + body;
}

std::string armored_signature(std::string_view packet) {
    std::string out = "-----BEGIN PGP SIGNATURE-----\n\n";
    const std::string text = base::to_base64(packet);
    for (std::size_t at = 0; at < text.size(); at += 64) out += text.substr(at, 64) + "\n";
    const std::uint32_t crc = crc24(packet);
    const char crc_bytes[3] = {static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                               static_cast<char>(crc)};
    out += "=" + base::to_base64(std::string_view(crc_bytes, 3)) + "\n";
    out += "-----END PGP SIGNATURE-----\n";
    return out;
}

}  // namespace keyfence::mail::pgp
