// keyChange's request (RFC 8555 §7.3.5). The outer JWS is an ordinary request, signed by the
// account's current key (`kid`) and checked by the facade like any other; its payload is an
// inner JWS signed by the new key, with the new key as `jwk`, the same `url` as the outer one
// and a payload naming the account and its current key:
//   {"account": "<account URL>", "oldKey": <current JWK>}
// decode_key_change() checks the inner JWS on its own (shape, url, signature by the new key,
// payload); whether `account` and `oldKey` are the signer's is for the facade, which holds the
// accounts. Errors carry the ACME problem type in context "acme_type", as jws.hpp's do.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace seed::api::acme {

struct KeyChange {
  nlohmann::json new_jwk;      // the public key the account moves to
  std::string new_thumbprint;  // RFC 7638, the account's new identity
  std::string account;         // the account URL the inner payload names
  std::string old_thumbprint;  // of the inner payload's oldKey
};

// `outer_payload`: the outer JWS's decoded payload; `outer_url`: its `url`.
Result<KeyChange> decode_key_change(std::string_view outer_payload, const std::string& outer_url);

}  // namespace seed::api::acme
