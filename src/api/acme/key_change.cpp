#include "api/acme/key_change.hpp"

#include "api/acme/jws.hpp"

namespace seed::api::acme {

namespace {

// The inner JWS's own error, said to be about the inner JWS (the outer one already verified).
Error inner(const Error& e) {
  auto type = e.get("acme_type");
  return acme_error(type ? std::string(*type) : "malformed", "keyChange's inner JWS: " + e.message);
}

Error malformed(std::string detail) { return acme_error("malformed", "keyChange's inner JWS: " + std::move(detail)); }

}  // namespace

Result<KeyChange> decode_key_change(std::string_view outer_payload, const std::string& outer_url) {
  auto jws = parse_inner_jws(outer_payload);
  if (!jws.ok()) return inner(jws.error());
  if (!jws->jwk) return malformed("its header must carry the new key as \"jwk\" (not \"kid\")");
  if (jws->url != outer_url) {
    return malformed("its url " + jws->url + " is not the outer JWS's url " + outer_url);
  }
  auto key = public_key_from_jwk(*jws->jwk);
  if (!key.ok()) return inner(key.error());
  if (auto st = verify_jws(*jws, key->get()); !st) return inner(st.error());
  const nlohmann::json payload = nlohmann::json::parse(jws->payload, nullptr, false);
  if (payload.is_discarded() || !payload.is_object() || !payload.contains("account") ||
      !payload["account"].is_string() || !payload.contains("oldKey") || !payload["oldKey"].is_object()) {
    return malformed("its payload must be {\"account\": the account URL, \"oldKey\": the account's current JWK}");
  }
  KeyChange out;
  out.new_jwk = *jws->jwk;
  out.new_thumbprint = SEED_TRY(jwk_thumbprint(out.new_jwk));
  out.account = payload["account"].get<std::string>();
  auto old = jwk_thumbprint(payload["oldKey"]);
  if (!old.ok()) return malformed("its oldKey is not a public JWK: " + old.error().message);
  out.old_thumbprint = *old;
  return out;
}

}  // namespace seed::api::acme
