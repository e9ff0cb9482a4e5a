// seedd's own account key toward the upstream CA (ACME mode, issue 15): one P-256 key made
// once and kept in the state directory (PEM, 0600), reused on every start so the upstream
// account (and the CAA accounturi that names it) stays the same. It signs seedd's requests as
// RFC 8555 §6.2 wants them: flattened JWS, ES256, `jwk` in the header before the account
// exists (newAccount) and `kid` (the account URL) after.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace seed::api::acme {

class AccountKey {
 public:
  // Loads the key at `path`, or makes one and writes it there (0600) when the file does not
  // exist. A file that is not a P-256 private key is an error naming it: a lost key never
  // silently becomes a new account.
  static Result<std::unique_ptr<AccountKey>> load_or_create(const std::string& path);
  ~AccountKey();
  AccountKey(const AccountKey&) = delete;
  AccountKey& operator=(const AccountKey&) = delete;

  const nlohmann::json& jwk() const { return jwk_; }               // public members only
  const std::string& thumbprint() const { return thumbprint_; }    // RFC 7638

  // The request body for `url`: `kid` empty puts the JWK in the header (newAccount);
  // `payload` nullopt is POST-as-GET (an empty payload); `nonce` empty leaves the nonce out
  // (keyChange's inner JWS, RFC 8555 §7.3.5).
  Result<std::string> sign(const std::string& url, const std::string& nonce, const std::string& kid,
                           const std::optional<nlohmann::json>& payload) const;

 private:
  AccountKey() = default;
  EVP_PKEY* key_ = nullptr;
  nlohmann::json jwk_;
  std::string thumbprint_;
};

}  // namespace seed::api::acme
