#include "api/router.hpp"

#include <stdexcept>

namespace seed::api {
namespace {

// "/a/b/" → {"a", "b", ""}: a trailing slash is a segment of its own, so "/a/b/" never
// matches "/a/b" (one canonical URL per resource, as ACME clients compare URLs exactly).
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

}  // namespace

Router& Router::add(std::string method, std::string pattern, Handler handler, size_t max_body_bytes) {
  Route route{std::move(method), split_path(pattern), std::move(handler), max_body_bytes};
  for (const auto& r : routes_) {
    if (r.method == route.method && r.segments == route.segments) {
      throw std::logic_error("route " + route.method + " " + pattern + " added twice");
    }
  }
  routes_.push_back(std::move(route));
  return *this;
}

bool Router::match(const Route& route, const std::vector<std::string>& segments, std::vector<std::string>* params) {
  const bool rest = !route.segments.empty() && route.segments.back() == "**";
  const size_t fixed = rest ? route.segments.size() - 1 : route.segments.size();
  if (rest ? segments.size() < fixed : segments.size() != fixed) return false;
  std::vector<std::string> captured;
  for (size_t i = 0; i < fixed; ++i) {
    if (route.segments[i] == "*") {
      if (segments[i].empty()) return false;
      captured.push_back(segments[i]);
    } else if (route.segments[i] != segments[i]) {
      return false;
    }
  }
  if (rest) {  // the remaining segments as they came, empty ones included (the handler judges them)
    std::string tail;
    for (size_t i = fixed; i < segments.size(); ++i) tail += (i == fixed ? "" : "/") + segments[i];
    captured.push_back(std::move(tail));
  }
  if (params != nullptr) *params = std::move(captured);
  return true;
}

size_t Router::max_body_bytes(const std::string& method, const std::string& path, size_t fallback) const {
  const auto segments = split_path(path);
  for (const auto& r : routes_) {
    if (r.method == method && match(r, segments, nullptr)) return r.max_body_bytes ? r.max_body_bytes : fallback;
  }
  return fallback;
}

Response Router::dispatch(Request& request) const {
  const auto segments = split_path(request.path);
  std::string allow;
  const Route* get_route = nullptr;
  for (const auto& r : routes_) {
    if (!match(r, segments, nullptr)) continue;
    if (r.method == request.method) {
      match(r, segments, &request.params);
      return r.handler(request);
    }
    if (r.method == "GET") get_route = &r;
    allow += (allow.empty() ? "" : ", ") + r.method;
  }
  if (request.method == "HEAD" && get_route != nullptr) {
    match(*get_route, segments, &request.params);
    return get_route->handler(request);  // the server sends the head without the body
  }
  if (!allow.empty()) {
    if (get_route != nullptr) allow += ", HEAD";
    return problem(405, "about:blank", request.method + " is not allowed on " + request.path + "; use " + allow)
        .with_header("Allow", allow);
  }
  return problem(404, "about:blank", "nothing is served at " + request.path + " on this listener");
}

}  // namespace seed::api
