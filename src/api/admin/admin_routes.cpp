#include "api/admin/admin_routes.hpp"

#include <chrono>

#include "api/admin/assets.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "common/time_text.hpp"
#include "reconcile/instance_resolver.hpp"
#include "reconcile/service_json.hpp"

namespace seed::api::admin {

namespace {

Response json_reply(const nlohmann::json& j) {
  Response r;
  r.body = j.dump() + "\n";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// The service's error as a problem document: not_found → 404, a bad argument → 400, else 500.
Response error_reply(const Error& e) {
  const int status = e.code == Errc::not_found ? 404 : e.code == Errc::invalid_argument ? 400 : 500;
  return problem(status, "about:blank", e.message);
}

const char* content_type_of(const std::string& name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

AdminRoutes::AdminRoutes(reconcile::Service& service, const metrics::Registry& metrics, const UsageHistory& usage,
                         AdminConfig config)
    : service_(service), metrics_(metrics), usage_(usage), config_(std::move(config)) {
  if (auto text = read_file(config_.chart_js)) chart_js_ = std::move(*text);
  else log::warn("api.admin.no_chart_js", {{"path", config_.chart_js}, {"hint", "apt-get install libjs-chart.js"}});
}

void AdminRoutes::add_routes(Router& router) {
  router.add("GET", "/", [this](const Request&) { return asset("status.html"); });
  router.add("GET", "/assets/*", [this](const Request& r) { return asset(r.params.at(0)); });
  router.add("GET", "/metrics", [this](const Request&) {
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.expose();
    return r;
  });
  router.add("GET", "/api/v1/status", [this](const Request&) {
    auto sources = service_.status(std::nullopt);
    return sources ? json_reply(reconcile::status_json(*sources)) : error_reply(sources.error());
  });
  router.add("GET", "/api/v1/usage", [this](const Request&) { return json_reply(usage_.to_json()); });
  router.add("GET", "/api/v1/quarantine", [this](const Request&) {
    auto list = service_.quarantine_list();
    return list ? json_reply(reconcile::quarantine_json(*list)) : error_reply(list.error());
  });
  router.add("GET", "/api/v1/logs", [this](const Request& r) { return logs(r); });
}

Response AdminRoutes::asset(const std::string& name) const {
  Response r;
  if (name == "chart.js") {
    if (chart_js_.empty()) {
      // The page checks for Chart and says plots are off; an empty script keeps the console clean.
      r.content_type = content_type_of(name);
      r.body = "/* Chart.js is not installed on this node (" + config_.chart_js + ") */\n";
      return r;
    }
    r.content_type = content_type_of(name);
    r.body = chart_js_;
    r.headers.emplace_back("Cache-Control", "max-age=86400");
    return r;
  }
  const auto& assets = page_assets();
  auto it = assets.find(name);
  if (it == assets.end()) return problem(404, "about:blank", "no asset " + name);
  r.content_type = content_type_of(name);
  r.body = it->second;
  // Scripts only from this node, no inline code: the page runs nothing it did not ship.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

Response AdminRoutes::logs(const Request& r) {
  auto param = [&](const char* key) -> std::string {
    auto it = r.query.find(key);
    return it == r.query.end() ? std::string() : it->second;
  };
  const std::string instance = param("instance");
  if (instance.empty()) return problem(400, "about:blank", "name the instance: /api/v1/logs?instance=web");
  auto id = reconcile::resolve_instance(instance, service_);
  if (!id) return error_reply(id.error());
  reconcile::LogQuery query;
  if (std::string lines = param("lines"); !lines.empty()) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(lines.c_str(), &end, 10);
    if (*end != '\0' || n == 0 || n > 10000) return problem(400, "about:blank", "lines must be 1..10000, not " + lines);
    query.lines = n;
  }
  if (std::string unit = param("unit"); !unit.empty()) query.unit = unit;
  if (std::string since = param("since"); !since.empty()) {
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
    auto at = parse_since(since, now_us);
    if (!at) return problem(400, "about:blank", "since: " + at.error().message);
    query.since_us = *at;
  }
  if (std::string boot = param("boot"); !boot.empty()) {
    char* end = nullptr;
    const long b = std::strtol(boot.c_str(), &end, 10);
    if (*end != '\0' || b > 0 || b < -1000) return problem(400, "about:blank", "boot must be 0, -1, -2, …, not " + boot);
    query.boot = static_cast<int>(b);
  }
  auto entries = service_.logs(*id, query);
  if (!entries) return error_reply(entries.error());
  nlohmann::json j = reconcile::logs_json(*id, *entries);
  j["schema"] = 1;
  return json_reply(j);
}

}  // namespace seed::api::admin
