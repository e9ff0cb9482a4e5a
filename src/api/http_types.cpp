#include "api/http_types.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace seed::api {

std::string Request::header(const std::string& name) const {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

Response problem(int status, std::string type, std::string detail) {
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = nlohmann::json{{"type", std::move(type)}, {"detail", std::move(detail)}, {"status", status}}.dump();
  return r;
}

}  // namespace seed::api
