#include "api/shoot/shoot_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/shoot/shoot_stream.hpp"

namespace seed::api::shoot {

namespace {

const char* kProblem = "about:blank";

Error bad(const std::string& what) {
  return make_error(Errc::invalid_argument, what)
      .with("hint", "send {\"command\": [\"prog\", \"arg\", …]} with optional timeout (ms), env, stdin, cwd, size");
}

// The one place a shoot error becomes an HTTP status.
Response reply_for(const Error& e) {
  std::string detail = e.message;
  if (auto hint = e.get("hint")) detail += " (" + std::string(*hint) + ")";
  switch (e.code) {
    case Errc::invalid_argument: return problem(400, kProblem, detail);
    case Errc::permission_denied: return problem(403, kProblem, detail);
    case Errc::not_found: return problem(404, kProblem, detail);
    case Errc::unavailable:
      if (auto after = e.get("retry_after")) {
        return problem(429, kProblem, detail).with_header("Retry-After", std::string(*after));
      }
      return problem(503, kProblem, detail);
    default: return problem(500, kProblem, "the shoot failed: " + detail);
  }
}

}  // namespace

ShootTargets targets_of(reconcile::Service& service) {
  return {[&service](const std::string& source) { return service.instance_by_address(source); },
          [&service](const reconcile::InstanceId& id, const reconcile::ShootRequest& r, const std::atomic<bool>& c) {
            return service.shoot(id, r, c);
          }};
}

Result<reconcile::ShootRequest> parse_shoot_request(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("the request body is not a JSON object");
  reconcile::ShootRequest r;
  for (const auto& [key, value] : j.items()) {
    if (key == "command") {
      if (!value.is_array() || value.empty()) return bad("command must be a non-empty array of strings");
      for (const auto& a : value) {
        if (!a.is_string()) return bad("command must be a non-empty array of strings");
        r.command.push_back(a.get<std::string>());
      }
    } else if (key == "timeout") {
      if (!value.is_number_integer() || value.get<int64_t>() <= 0) return bad("timeout must be a positive number of milliseconds");
      r.timeout = std::chrono::milliseconds(value.get<int64_t>());
    } else if (key == "env") {
      if (!value.is_object()) return bad("env must be an object of strings");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) return bad("env." + k + " must be a string");
        r.env[k] = v.get<std::string>();
      }
    } else if (key == "stdin" || key == "cwd" || key == "size") {
      if (!value.is_string()) return bad(key + " must be a string");
      (key == "stdin" ? r.stdin_data : key == "cwd" ? r.cwd : r.size) = value.get<std::string>();
    } else {
      return bad("unknown field '" + key + "'");
    }
  }
  if (r.command.empty()) return bad("command is required");
  return r;
}

void ShootRoutes::add_routes(Router& router) {
  router.add("POST", "/shoot", [this](const Request& r) { return handle(r); });
}

Response ShootRoutes::handle(const Request& request) {
  auto owner = targets_.owner(request.source);
  if (!owner) {
    return problem(403, kProblem, "no instance of this node sends from " + request.source + "; shoots are for instances");
  }
  if (!owner->shoot) {
    return problem(403, kProblem, "shoots are off for this instance: set seed.shoot.enable = true in its module and push");
  }
  auto parsed = parse_shoot_request(request.body);
  if (!parsed) return reply_for(parsed.error());
  // The shoot runs while its reply is sent, so a client that hangs up cancels it.
  const bool ndjson = request.header("accept").find("application/x-ndjson") != std::string::npos;
  return start_shoot([this, id = owner->id](const reconcile::ShootRequest& r, const std::atomic<bool>& cancelled) {
    return targets_.shoot(id, r, cancelled);
  }, std::move(*parsed), ndjson, &reply_for);
}

}  // namespace seed::api::shoot
