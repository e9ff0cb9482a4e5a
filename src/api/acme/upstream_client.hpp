// seedd as an RFC 8555 client of the upstream CA (ACME mode), first part: the directory, the
// nonce discipline (one Replay-Nonce kept for the next request; a `badNonce` refusal retried
// with the nonce it carries, a few times, as RFC 8555 §6.5 asks of clients) and the account,
// registered once and remembered in the state directory (the key in account.key, 0600; its
// URL in account.json) so every later start reuses it. Orders, DNS-01 and finalize build on
// post(). HTTP is libcurl over TLS, verified against the system store or `ca_file`.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/acme/account_key.hpp"
#include "common/error.hpp"

namespace seed::api::acme {

struct UpstreamConfig {
  std::string directory_url;  // e.g. https://acme-v02.api.letsencrypt.org/directory
  std::string state_dir;      // account.key, account.json
  std::string email;          // contact for the account; may be empty
  std::string ca_file;        // PEM bundle to trust instead of the system's (test CAs); may be empty
  // Real CAs rarely refuse a nonce; pebble's test setting refuses half of them, so retries
  // are generous (they cost nothing when no badNonce comes).
  int bad_nonce_retries = 20;
};

struct UpstreamReply {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case; repeats joined by ", "
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class UpstreamClient {
 public:
  // Loads (or makes) the account key and reads the directory; registers the account if
  // account.json does not name one yet.
  static Result<std::unique_ptr<UpstreamClient>> open(UpstreamConfig config);

  const std::string& account_url() const { return account_url_; }
  const std::string& thumbprint() const { return key_->thumbprint(); }  // for key authorizations
  const nlohmann::json& directory() const { return directory_; }
  int bad_nonce_retries_used() const { return retries_used_; }

  // A signed POST (`payload` nullopt: POST-as-GET) by the account's kid. A problem document
  // from the CA is an error carrying its ACME type in context "acme_type" (so the facade
  // passes it on), the CA's detail in the message and, for rateLimited, "retry_after".
  Result<UpstreamReply> post(const std::string& url, const std::optional<nlohmann::json>& payload);

 private:
  explicit UpstreamClient(UpstreamConfig config) : config_(std::move(config)) {}
  Result<UpstreamReply> http(const std::string& method, const std::string& url, const std::string& body);
  Result<UpstreamReply> signed_post(const std::string& url, const std::optional<nlohmann::json>& payload, bool by_jwk);
  Status register_account();

  UpstreamConfig config_;
  std::unique_ptr<AccountKey> key_;
  nlohmann::json directory_;
  std::string account_url_;
  std::mutex mu_;      // one request at a time: the nonce is shared
  std::string nonce_;  // the last Replay-Nonce, unused
  int retries_used_ = 0;
};

}  // namespace seed::api::acme
