// ACME's request envelope (RFC 8555 §6.2): a JWS in flattened JSON serialization (RFC 7515
// §7.2.2) whose protected header names the algorithm, a nonce, the request URL and exactly one
// of `jwk` (newAccount, revokeCert by certificate key) or `kid` (everything else).
//
// parse_jws() checks the envelope's shape and decodes it; public_key_from_jwk() turns a JWK
// into an OpenSSL key (RSA ≥ 2048 bits, EC P-256/P-384, Ed25519) refusing anything weaker;
// verify_jws() checks the signature with the algorithm the header names, which must fit the
// key. Errors carry the ACME problem type to answer with in context "acme_type"
// (malformed, badSignatureAlgorithm, badPublicKey, unauthorized).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace seed::api::acme {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PublicKey = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct Jws {
  std::string alg;    // "RS256", "ES256", "ES384", "EdDSA"
  std::string nonce;  // as sent (base64url)
  std::string url;
  std::optional<std::string> kid;     // the account URL
  std::optional<nlohmann::json> jwk;  // the public key itself
  nlohmann::json protected_header;
  std::string payload;       // decoded; empty for POST-as-GET
  bool post_as_get = false;  // the payload was the empty string
  std::string signing_input;  // "<protected b64>.<payload b64>"
  std::string signature;      // decoded
};

// An ACME error: code invalid_argument (or permission_denied for `unauthorized`), the type
// in context "acme_type" and a detail saying what was wrong.
Error acme_error(std::string type, std::string detail);

Result<Jws> parse_jws(std::string_view body);
// keyChange's inner JWS (RFC 8555 §7.3.5): the same envelope, but the nonce is optional
// (the outer JWS carries the one that counts).
Result<Jws> parse_inner_jws(std::string_view body);
Result<PublicKey> public_key_from_jwk(const nlohmann::json& jwk);
Status verify_jws(const Jws& jws, EVP_PKEY* key);
// RFC 7638 thumbprint of a public JWK (base64url SHA-256 of its required members in order):
// the account's identity, and the key authorization's second half.
Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

}  // namespace seed::api::acme
