#include "api/webhook/delivery.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

namespace seed::api::webhook {

const char* forge_name(Forge f) {
  switch (f) {
    case Forge::github: return "github";
    case Forge::gitea: return "gitea";
    case Forge::gitlab: return "gitlab";
  }
  return "unknown";
}

std::optional<Delivery> identify(const Request& r) {
  if (std::string e = r.header("x-github-event"); !e.empty()) {
    return Delivery{Forge::github, e, r.header("x-github-delivery")};
  }
  std::string gitea = r.header("x-gitea-event");
  if (gitea.empty()) gitea = r.header("x-forgejo-event");
  if (!gitea.empty()) {
    std::string id = r.header("x-gitea-delivery");
    if (id.empty()) id = r.header("x-forgejo-delivery");
    return Delivery{Forge::gitea, gitea, id};
  }
  if (std::string e = r.header("x-gitlab-event"); !e.empty()) {
    // GitLab names events "Push Hook", "Tag Push Hook", …; it has no ping (its "Test" button
    // sends a real push event).
    std::string id = r.header("x-gitlab-event-uuid");
    if (id.empty()) id = r.header("idempotency-key");
    return Delivery{Forge::gitlab, e == "Push Hook" ? "push" : e, id};
  }
  return std::nullopt;
}

std::string hmac_sha256_hex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

namespace {
bool equal_constant_time(const std::string& a, const std::string& b) {
  // The length of a well-formed signature is public (64 hex digits); only its content is secret.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

bool authentic(const Delivery& d, const Request& r, const std::string& secret) {
  if (secret.empty()) return false;
  switch (d.forge) {
    case Forge::github: {
      const std::string sig = r.header("x-hub-signature-256");
      const std::string prefix = "sha256=";
      if (sig.rfind(prefix, 0) != 0) return false;
      return equal_constant_time(lower(sig.substr(prefix.size())), hmac_sha256_hex(secret, r.body));
    }
    case Forge::gitea: {
      std::string sig = r.header("x-gitea-signature");
      if (sig.empty()) sig = r.header("x-forgejo-signature");
      return !sig.empty() && equal_constant_time(lower(sig), hmac_sha256_hex(secret, r.body));
    }
    case Forge::gitlab: {
      // GitLab sends the secret itself; compare digests so the time taken says nothing of it.
      const std::string token = r.header("x-gitlab-token");
      return !token.empty() && equal_constant_time(hmac_sha256_hex("seed", token), hmac_sha256_hex("seed", secret));
    }
  }
  return false;
}

std::optional<Push> parse_push(const Delivery& d, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("ref") || !j["ref"].is_string()) return std::nullopt;
  Push p;
  const std::string ref = j["ref"].get<std::string>();
  const std::string heads = "refs/heads/";
  if (ref.rfind(heads, 0) == 0) p.branch = ref.substr(heads.size());
  const char* repo_key = d.forge == Forge::gitlab ? "project" : "repository";
  if (j.contains(repo_key) && j[repo_key].is_object()) {
    const auto& repo = j[repo_key];
    if (repo.contains("default_branch") && repo["default_branch"].is_string()) {
      p.default_branch = repo["default_branch"].get<std::string>();
    }
  }
  return p;
}

}  // namespace seed::api::webhook
