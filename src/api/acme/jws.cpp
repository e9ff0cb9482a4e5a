#include "api/acme/jws.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>

#include <set>

#include "api/acme/base64url.hpp"
#include "common/digest.hpp"

namespace seed::api::acme {
namespace {

using json = nlohmann::json;

Error malformed(std::string detail) { return acme_error("malformed", std::move(detail)); }
Error bad_key(std::string detail) { return acme_error("badPublicKey", std::move(detail)); }

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// A base64url member of a JWK, decoded; `what` names it in the error.
Result<std::string> member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return bad_key(std::string("the JWK has no string member \"") + name + "\"");
  auto bytes = base64url_decode(it->get<std::string>());
  if (!bytes || bytes->empty()) return bad_key(std::string("the JWK's \"") + name + "\" is not base64url");
  return *bytes;
}

Result<PublicKey> from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return bad_key(std::string("the ") + type + " JWK does not describe a valid public key");
  }
  PublicKey out(key);
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return bad_key(std::string("the ") + type + " JWK's public key fails OpenSSL's check (not on its curve, or a bad modulus)");
  }
  return out;
}

Result<PublicKey> rsa_key(const json& jwk) {
  auto n = SEED_TRY(member(jwk, "n"));
  auto e = SEED_TRY(member(jwk, "e"));
  if (n[0] == '\0') return bad_key("the RSA modulus has a leading zero byte (not minimal base64url)");
  const size_t bits = n.size() * 8;
  if (bits < 2048 || bits > 8192) {
    return bad_key("RSA keys must have 2048 to 8192 bits; this one has " + std::to_string(bits));
  }
  Bn bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), int(n.size()), nullptr));
  Bn bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), int(e.size()), nullptr));
  if (!bn_n || !bn_e || !BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) return bad_key("the RSA exponent is not valid");
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  return from_params("RSA", bld.get());
}

Result<PublicKey> ec_key(const json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string()) return bad_key("the EC JWK has no \"crv\"");
  size_t size = 0;
  const char* group = nullptr;
  if (*crv == "P-256") {
    size = 32;
    group = "prime256v1";
  } else if (*crv == "P-384") {
    size = 48;
    group = "secp384r1";
  } else {
    return bad_key("EC keys must be on P-256 or P-384, not " + crv->get<std::string>());
  }
  auto x = SEED_TRY(member(jwk, "x"));
  auto y = SEED_TRY(member(jwk, "y"));
  if (x.size() != size || y.size() != size) return bad_key("the EC JWK's x and y must be " + std::to_string(size) + " bytes");
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  return from_params("EC", bld.get());
}

Result<PublicKey> okp_key(const json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || *crv != "Ed25519") return bad_key("OKP keys must be Ed25519");
  auto x = SEED_TRY(member(jwk, "x"));
  if (x.size() != 32) return bad_key("the Ed25519 JWK's x must be 32 bytes");
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const unsigned char*>(x.data()), x.size());
  if (key == nullptr) return bad_key("the Ed25519 JWK is not a valid public key");
  return PublicKey(key);
}

// JWS ECDSA signatures are r || s of fixed width; OpenSSL verifies DER.
std::optional<std::string> ecdsa_der(const std::string& raw, size_t half) {
  if (raw.size() != 2 * half) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), int(half), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + half), int(half), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

Error acme_error(std::string type, std::string detail) {
  const Errc code = type == "unauthorized" ? Errc::permission_denied : Errc::invalid_argument;
  return make_error(code, std::move(detail)).with("acme_type", std::move(type));
}

namespace {

Result<Jws> parse_envelope(std::string_view body, bool nonce_required) {
  json envelope = json::parse(body, nullptr, false);
  if (envelope.is_discarded() || !envelope.is_object()) {
    return malformed("the request body is not a JSON object (ACME wants a JWS in flattened JSON serialization)");
  }
  for (const auto& [key, value] : envelope.items()) {
    if (key != "protected" && key != "payload" && key != "signature") {
      return malformed("the JWS has a member \"" + key + "\"; ACME allows only protected, payload and signature");
    }
    if (!value.is_string()) return malformed("the JWS member \"" + key + "\" must be a string");
  }
  for (const char* key : {"protected", "payload", "signature"}) {
    if (!envelope.contains(key)) return malformed(std::string("the JWS has no \"") + key + "\"");
  }
  Jws out;
  const std::string protected_b64 = envelope["protected"], payload_b64 = envelope["payload"];
  auto header_text = base64url_decode(protected_b64);
  if (!header_text) return malformed("the JWS protected header is not base64url");
  out.protected_header = json::parse(*header_text, nullptr, false);
  if (out.protected_header.is_discarded() || !out.protected_header.is_object()) {
    return malformed("the JWS protected header is not a JSON object");
  }
  auto payload = base64url_decode(payload_b64);
  auto signature = base64url_decode(envelope["signature"].get<std::string>());
  if (!payload) return malformed("the JWS payload is not base64url");
  if (!signature || signature->empty()) return malformed("the JWS signature is missing or not base64url");
  out.payload = std::move(*payload);
  out.post_as_get = payload_b64.empty();
  out.signature = std::move(*signature);
  out.signing_input = protected_b64 + "." + payload_b64;

  const json& h = out.protected_header;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = h.find(key);
    if (it == h.end() || !it->is_string() || it->get<std::string>().empty()) return std::nullopt;
    return it->get<std::string>();
  };
  auto alg = text("alg");
  static const std::set<std::string> kAlgs{"RS256", "ES256", "ES384", "EdDSA"};
  if (!alg || !kAlgs.count(*alg)) {
    return acme_error("badSignatureAlgorithm",
                      "the JWS algorithm " + (alg ? "\"" + *alg + "\"" : std::string("(none)")) +
                          " is not supported; use RS256, ES256, ES384 or EdDSA");
  }
  out.alg = *alg;
  auto nonce = text("nonce");
  if (!nonce && nonce_required) {
    return acme_error("badNonce", "the JWS protected header has no nonce; get one from newNonce");
  }
  out.nonce = nonce.value_or("");
  auto url = text("url");
  if (!url) return malformed("the JWS protected header has no \"url\" (the URL this request is sent to)");
  out.url = *url;
  const bool has_jwk = h.contains("jwk"), has_kid = h.contains("kid");
  if (has_jwk == has_kid) {
    return malformed("the JWS protected header must have exactly one of \"jwk\" and \"kid\"");
  }
  if (has_jwk) {
    if (!h["jwk"].is_object()) return malformed("the JWS \"jwk\" must be a JSON object");
    if (h["jwk"].contains("d")) return bad_key("the JWK holds a private key; send only the public part");
    out.jwk = h["jwk"];
  } else {
    auto kid = text("kid");
    if (!kid) return malformed("the JWS \"kid\" must be the account URL");
    out.kid = *kid;
  }
  return out;
}

}  // namespace

Result<Jws> parse_jws(std::string_view body) { return parse_envelope(body, true); }

Result<Jws> parse_inner_jws(std::string_view body) { return parse_envelope(body, false); }

Result<PublicKey> public_key_from_jwk(const nlohmann::json& jwk) {
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return bad_key("the JWK has no \"kty\"");
  if (*kty == "RSA") return rsa_key(jwk);
  if (*kty == "EC") return ec_key(jwk);
  if (*kty == "OKP") return okp_key(jwk);
  return bad_key("JWK key type " + kty->dump() + " is not supported; use RSA, EC or OKP (Ed25519)");
}

Status verify_jws(const Jws& jws, EVP_PKEY* key) {
  const EVP_MD* md = nullptr;
  std::string signature = jws.signature;
  const int type = EVP_PKEY_get_base_id(key);
  auto mismatch = [&] {
    return acme_error("badSignatureAlgorithm", "the JWS algorithm " + jws.alg + " does not fit the account's key");
  };
  if (jws.alg == "RS256") {
    if (type != EVP_PKEY_RSA) return mismatch();
    md = EVP_sha256();
  } else if (jws.alg == "ES256" || jws.alg == "ES384") {
    const bool p256 = jws.alg == "ES256";
    if (type != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != (p256 ? 256 : 384)) return mismatch();
    md = p256 ? EVP_sha256() : EVP_sha384();
    auto der = ecdsa_der(jws.signature, p256 ? 32 : 48);
    if (!der) return malformed("the " + jws.alg + " signature has the wrong length");
    signature = std::move(*der);
  } else if (jws.alg == "EdDSA") {
    if (type != EVP_PKEY_ED25519) return mismatch();
  } else {
    return mismatch();
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(jws.signing_input.data()),
                       jws.signing_input.size()) != 1) {
    return malformed("the JWS signature does not verify with the account's key");
  }
  return ok();
}

Result<std::string> jwk_thumbprint(const nlohmann::json& jwk) {
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return bad_key("the JWK has no \"kty\"");
  std::vector<const char*> members;
  if (*kty == "RSA") {
    members = {"e", "kty", "n"};
  } else if (*kty == "EC") {
    members = {"crv", "kty", "x", "y"};
  } else if (*kty == "OKP") {
    members = {"crv", "kty", "x"};
  } else {
    return bad_key("JWK key type " + kty->dump() + " is not supported");
  }
  json required = json::object();  // nlohmann orders keys lexicographically, as RFC 7638 asks
  for (const char* m : members) {
    auto it = jwk.find(m);
    if (it == jwk.end() || !it->is_string()) return bad_key(std::string("the JWK has no string member \"") + m + "\"");
    required[m] = *it;
  }
  const Sha256 digest = sha256(required.dump());
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace seed::api::acme
