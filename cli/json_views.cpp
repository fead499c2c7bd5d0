#include "cli/json_views.hpp"

#include "base/hex.hpp"
#include "base/logger.hpp"

namespace keyfence::cli {
using nlohmann::json;
namespace p11 = token::pkcs11;

json to_json(const p11::TokenInfo& t) {
    json j = {{"module", t.module_path},
              {"slot_id", t.slot_id},
              {"slot_description", t.slot_description},
              {"slot_manufacturer", t.slot_manufacturer},
              {"present", t.present},
              {"removable", t.removable}};
    if (!t.present) return j;
    j.update({{"label", t.label},
              {"manufacturer", t.manufacturer},
              {"model", t.model},
              {"serial", t.serial},
              {"uri", t.uri},
              {"initialized", t.pin.initialized},
              {"software", t.software},
              {"demo", t.demo},
              {"pin",
               {{"login_required", t.pin.login_required},
                {"pin_pad", t.pin.protected_auth_path},
                {"count_low", t.pin.count_low},
                {"final_try", t.pin.final_try},
                {"locked", t.pin.locked},
                {"to_be_changed", t.pin.to_be_changed},
                {"min_length", t.min_pin_length},
                {"max_length", t.max_pin_length}}}});
    if (t.software) j["software_reason"] = t.software_reason;
    return j;
}

json to_json(const p11::ObjectInfo& o) {
    json j = {{"kind", p11::kind_name(o.kind)},
              {"label", o.label},
              {"id", base::to_hex(o.id)},
              {"uri", o.uri},
              {"algorithm", p11::algorithm_name(o.algorithm)},
              {"supported", o.supported}};
    if (o.bits > 0) j["bits"] = o.bits;
    if (!o.curve.empty()) j["curve"] = o.curve;
    if (!o.supported) j["unsupported_reason"] = o.unsupported_reason;
    if (o.algorithm == p11::KeyAlgorithm::Rsa) j["roca_vulnerable"] = o.roca;
    if (o.kind == p11::ObjectKind::PrivateKey) {
        j["private_key_visible"] = o.private_key_visible;
        if (o.usages_known) {
            j["usages"] = {{"sign", o.can_sign},
                           {"decrypt", o.can_decrypt},
                           {"derive", o.can_derive},
                           {"always_authenticate", o.always_authenticate}};
        } else {
            j["usages"] = nullptr;
        }
        if (!o.certificate_uri.empty()) j["certificate_uri"] = o.certificate_uri;
    }
    if (!o.public_key_sha256.empty()) {
        j["public_key"] = {{"sha256", o.public_key_sha256}, {"source", o.public_key_source}};
    }
    if (o.certificate) {
        j["certificate"] = {
            {"subject", o.certificate->subject},       {"issuer", o.certificate->issuer},
            {"not_before", o.certificate->not_before}, {"not_after", o.certificate->not_after},
            {"emails", o.certificate->emails},         {"sha256", o.certificate->sha256}};
    }
    return j;
}

json to_json(const p11::ModuleFailure& f) {
    return {{"module", f.path}, {"error", to_json(f.error)}};
}

json to_json(const p11::Module& m) {
    return {{"path", m.path()},
            {"description", m.info().description},
            {"manufacturer", m.info().manufacturer},
            {"library_version", m.info().library_version},
            {"cryptoki_version", m.info().cryptoki_version}};
}

json to_json(const base::Error& e) {
    json j = {{"code", base::code_name(e.code)},
              {"message", base::redact(e.message())},
              {"origin", base::origin_name(e.origin)}};
    if (e.origin != base::Origin::Keyfence) j["raw"] = e.raw;
    if (!e.raw_name.empty()) j["raw_name"] = e.raw_name;
    if (!e.hint.empty()) j["hint"] = base::redact(e.hint);
    if (e.retries_left) j["retries_left"] = *e.retries_left;
    return j;
}

}  // namespace keyfence::cli
