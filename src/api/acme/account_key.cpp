#include "api/acme/account_key.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

#include <filesystem>

#include "api/acme/base64url.hpp"
#include "api/acme/jws.hpp"
#include "common/fd.hpp"

namespace seed::api::acme {
namespace {

using json = nlohmann::json;

Error key_error(const std::string& what, const std::string& path) {
  return make_error(Errc::invalid_argument, what)
      .with("file", path)
      .with("stage", "acme")
      .with("hint", "restore the account key from a backup, or move the file away to register a new upstream account");
}

// A P-256 coordinate or signature half as 32 big-endian bytes, base64url.
std::string fixed32(const BIGNUM* bn) {
  unsigned char out[32];
  BN_bn2binpad(bn, out, sizeof out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

}  // namespace

AccountKey::~AccountKey() { EVP_PKEY_free(key_); }

Result<std::unique_ptr<AccountKey>> AccountKey::load_or_create(const std::string& path) {
  std::unique_ptr<AccountKey> k(new AccountKey());
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto pem = SEED_TRY(read_file(path));
    BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
    k->key_ = bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    char group[32] = {};
    if (k->key_ == nullptr || EVP_PKEY_get_base_id(k->key_) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(k->key_, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr) != 1 ||
        std::string(group) != "prime256v1") {
      return key_error("the upstream ACME account key is not a P-256 private key in PEM", path);
    }
  } else {
    k->key_ = EVP_EC_gen("P-256");
    if (k->key_ == nullptr) return make_error(Errc::internal, "OpenSSL could not make a P-256 key").with("stage", "acme");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, k->key_, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, size_t(n));
    BIO_free(bio);
    SEED_TRY(write_file_atomic(path, pem, 0600));
  }
  BIGNUM *x = nullptr, *y = nullptr;
  EVP_PKEY_get_bn_param(k->key_, OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(k->key_, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  if (x == nullptr || y == nullptr) {
    BN_free(x);
    BN_free(y);
    return key_error("the upstream ACME account key has no readable public point", path);
  }
  k->jwk_ = {{"crv", "P-256"}, {"kty", "EC"}, {"x", base64url_encode(fixed32(x))}, {"y", base64url_encode(fixed32(y))}};
  BN_free(x);
  BN_free(y);
  k->thumbprint_ = SEED_TRY(jwk_thumbprint(k->jwk_));
  return k;
}

Result<std::string> AccountKey::sign(const std::string& url, const std::string& nonce, const std::string& kid,
                                     const std::optional<json>& payload) const {
  json header{{"alg", "ES256"}, {"url", url}};
  if (!nonce.empty()) header["nonce"] = nonce;
  if (kid.empty()) {
    header["jwk"] = jwk_;
  } else {
    header["kid"] = kid;
  }
  const std::string protected_b64 = base64url_encode(header.dump());
  const std::string payload_b64 = payload ? base64url_encode(payload->dump()) : "";
  const std::string input = protected_b64 + "." + payload_b64;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  size_t der_len = 0;
  std::string der;
  bool signed_ok = md != nullptr && EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
                   EVP_DigestSign(md, nullptr, &der_len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (signed_ok) {
    der.resize(der_len);
    signed_ok = EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &der_len,
                               reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  }
  EVP_MD_CTX_free(md);
  if (!signed_ok) return make_error(Errc::internal, "OpenSSL could not sign an ACME request").with("stage", "acme");
  // OpenSSL signs in DER; JWS wants r || s, 32 bytes each (RFC 7518 §3.4).
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, long(der_len));
  if (sig == nullptr) return make_error(Errc::internal, "OpenSSL's ECDSA signature did not decode").with("stage", "acme");
  const std::string raw = fixed32(ECDSA_SIG_get0_r(sig)) + fixed32(ECDSA_SIG_get0_s(sig));
  ECDSA_SIG_free(sig);
  return json{{"protected", protected_b64}, {"payload", payload_b64}, {"signature", base64url_encode(raw)}}.dump();
}

}  // namespace seed::api::acme
