#include "api/acme/upstream_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <filesystem>

#include "api/acme/jws.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace seed::api::acme {
namespace {

using json = nlohmann::json;

size_t on_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    // A header sent more than once (Link: up, alternate, …) is one comma-joined list (RFC 9110 §5.3).
    std::string& slot = (*static_cast<std::map<std::string, std::string>*>(out))[name];
    slot += (slot.empty() ? "" : ", ") + value;
  }
  return size * n;
}

Error upstream_error(const std::string& what, const std::string& url) {
  return make_error(Errc::unavailable, what).with("url", url).with("stage", "acme");
}

// The CA's problem document as an error the facade can pass on to the guest.
Error problem_error(const UpstreamReply& r, const std::string& url) {
  json p = json::parse(r.body, nullptr, false);
  std::string type = p.is_object() ? p.value("type", "") : "";
  const std::string prefix = "urn:ietf:params:acme:error:";
  type = type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : "serverInternal";
  const std::string detail = p.is_object() ? p.value("detail", "") : "";
  Error e = acme_error(type, "the upstream CA refused: " + (detail.empty() ? "HTTP " + std::to_string(r.status) : detail));
  e.with("url", url).with("status", std::to_string(r.status)).with("stage", "acme");
  if (!r.header("retry-after").empty()) e.with("retry_after", r.header("retry-after"));
  return e;
}

}  // namespace

Result<UpstreamReply> UpstreamClient::http(const std::string& method, const std::string& url, const std::string& body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return upstream_error("libcurl could not make a handle", url);
  UpstreamReply reply;
  curl_slist* headers = nullptr;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "seedd-acme");
  if (!config_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (method == "POST") {
    headers = curl_slist_append(headers, "Content-Type: application/jose+json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, long(body.size()));
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return upstream_error(std::string("the upstream CA could not be reached: ") + curl_easy_strerror(rc), url)
        .with("hint", "check acme.directory in seedd's config and the node's outbound HTTPS");
  }
  if (!reply.header("replay-nonce").empty()) nonce_ = reply.header("replay-nonce");
  return reply;
}

Result<UpstreamReply> UpstreamClient::signed_post(const std::string& url, const std::optional<json>& payload, bool by_jwk) {
  for (int attempt = 0;; ++attempt) {
    if (nonce_.empty()) SEED_TRY(http("HEAD", directory_.value("newNonce", ""), ""));
    if (nonce_.empty()) return upstream_error("the upstream CA's newNonce gave no Replay-Nonce", directory_.value("newNonce", ""));
    const std::string body = SEED_TRY(key_->sign(url, nonce_, by_jwk ? "" : account_url_, payload));
    nonce_.clear();  // used, whatever the answer
    UpstreamReply reply = SEED_TRY(http("POST", url, body));
    if (reply.status < 400) return reply;
    Error e = problem_error(reply, url);
    // RFC 8555 §6.5: a badNonce answer carries a fresh nonce; retry with it, a few times.
    if (e.get("acme_type") && *e.get("acme_type") == "badNonce" && attempt < config_.bad_nonce_retries) {
      ++retries_used_;
      continue;
    }
    return e;
  }
}

Result<UpstreamReply> UpstreamClient::post(const std::string& url, const std::optional<json>& payload) {
  std::lock_guard lock(mu_);
  return signed_post(url, payload, false);
}

Status UpstreamClient::register_account() {
  json payload{{"termsOfServiceAgreed", true}};
  if (!config_.email.empty()) payload["contact"] = json::array({"mailto:" + config_.email});
  UpstreamReply reply = SEED_TRY(signed_post(directory_.value("newAccount", ""), payload, true));
  account_url_ = reply.header("location");
  if (account_url_.empty()) return upstream_error("the upstream CA's newAccount answer has no Location", directory_.value("newAccount", ""));
  SEED_TRY(write_file_atomic(config_.state_dir + "/account.json",
                             json{{"directory", config_.directory_url}, {"account", account_url_}}.dump() + "\n", 0600));
  log::info("acme.upstream.account", {{"account", account_url_}, {"created", reply.status == 201 ? "yes" : "no"}});
  return ok();
}

Result<std::unique_ptr<UpstreamClient>> UpstreamClient::open(UpstreamConfig config) {
  std::unique_ptr<UpstreamClient> c(new UpstreamClient(std::move(config)));
  std::error_code ec;
  std::filesystem::create_directories(c->config_.state_dir, ec);
  c->key_ = SEED_TRY(AccountKey::load_or_create(c->config_.state_dir + "/account.key"));
  UpstreamReply dir = SEED_TRY(c->http("GET", c->config_.directory_url, ""));
  c->directory_ = json::parse(dir.body, nullptr, false);
  if (dir.status != 200 || !c->directory_.is_object() || !c->directory_.contains("newNonce") ||
      !c->directory_.contains("newAccount") || !c->directory_.contains("newOrder")) {
    return upstream_error("the upstream ACME directory is not an RFC 8555 directory (HTTP " + std::to_string(dir.status) + ")",
                          c->config_.directory_url)
        .with("hint", "set acme.directory to the CA's directory URL");
  }
  // The account of an earlier start, if it was made at this same directory.
  const std::string saved_file = c->config_.state_dir + "/account.json";
  if (std::filesystem::exists(saved_file, ec)) {
    json saved = json::parse(SEED_TRY(read_file(saved_file)), nullptr, false);
    if (saved.is_object() && saved.value("directory", "") == c->config_.directory_url) c->account_url_ = saved.value("account", "");
  }
  if (c->account_url_.empty()) SEED_TRY(c->register_account());
  return c;
}

}  // namespace seed::api::acme
