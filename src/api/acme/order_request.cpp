#include "api/acme/order_request.hpp"

#include <algorithm>
#include <set>

#include "api/acme/base64url.hpp"
#include "api/acme/jws.hpp"

namespace seed::api::acme {

namespace {

constexpr size_t kMaxIdentifiers = 100;

bool in_zone(const std::string& name, const std::string& zone) {
  return name == zone || (name.size() > zone.size() && name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
                          name[name.size() - zone.size() - 1] == '.');
}

bool is_string_member(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string();
}

}  // namespace

Result<std::vector<std::string>> order_names(const nlohmann::json& payload, const std::vector<std::string>& own,
                                             const std::string& zone) {
  if (!payload.is_object() || !payload.contains("identifiers") || !payload["identifiers"].is_array() ||
      payload["identifiers"].empty() || payload["identifiers"].size() > kMaxIdentifiers) {
    return acme_error("malformed", "newOrder needs \"identifiers\": 1 to 100 {\"type\": \"dns\", \"value\": NAME}");
  }
  const std::set<std::string> allowed(own.begin(), own.end());
  std::set<std::string> names;
  for (const auto& id : payload["identifiers"]) {
    // Each member's type is checked before it is read: a non-string "type" is a refusal, not
    // a JSON type error.
    if (!id.is_object() || !is_string_member(id, "type") || id["type"] != "dns" || !is_string_member(id, "value")) {
      return acme_error("rejectedIdentifier", "only identifiers of type \"dns\" are issued here: " + id.dump());
    }
    std::string name = id["value"];
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (name.rfind("*.", 0) == 0) {
      return acme_error("rejectedIdentifier", name + ": wildcard certificates are not issued; order each name");
    }
    if (!allowed.count(name)) {
      std::string list;
      for (const auto& n : own) list += (list.empty() ? "" : ", ") + n;
      return acme_error("rejectedIdentifier", name + " is not a name of this instance; it may order: " + list);
    }
    if (!zone.empty() && !in_zone(name, zone)) {
      // The instance's own http hostname, but seedd can prove only names of its own zone.
      return acme_error("rejectedIdentifier", name + " is outside this node's zone " + zone +
                                                  ", so seedd cannot obtain a certificate for it (it answers "
                                                  "DNS-01 only in its zone); order names under " + zone +
                                                  " and get a certificate for " + name + " elsewhere");
    }
    names.insert(name);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Result<CsrInfo> finalize_csr(const nlohmann::json& payload) {
  if (!payload.is_object() || !is_string_member(payload, "csr")) {
    return acme_error("malformed", "finalize needs \"csr\": the base64url DER of a PKCS#10 request");
  }
  auto der = base64url_decode(payload["csr"].get<std::string>());
  if (!der) return acme_error("badCSR", "\"csr\" is not base64url");
  return check_csr(*der);
}

}  // namespace seed::api::acme
