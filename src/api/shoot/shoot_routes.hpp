// `POST /shoot` on the guest listener (docs/api.md, docs/shoots.md): an instance runs one
// command in a fresh VM. The caller is the instance that owns the request's source address
// on the bridge (the anti-spoofing rules make that trustworthy); only instances whose meta
// has shoot on are served. The body is JSON:
//   {"command": [argv…], "timeout": ms, "env": {…}, "stdin": "text", "cwd": "/dir", "size": "tier"}
// and the reply {"exitCode", "stdout", "stderr", "timedOut", "signal", "truncated", "durationMs"}
// (output that is not UTF-8 as base64, shoot_output.hpp), or with `Accept: application/x-ndjson`
// output lines as they come and that status last (shoot_stream.hpp).
// Beyond the node's caps the answer is 429 with Retry-After.
#pragma once

#include <atomic>
#include <functional>

#include "api/router.hpp"
#include "reconcile/service.hpp"

namespace seed::api::shoot {

// What the routes call: reconcile's Service in seedd (seedd/api_wiring), doubles in tests.
struct ShootTargets {
  std::function<Result<reconcile::AddressOwner>(const std::string& source)> owner;
  std::function<Result<reconcile::ShootReply>(const reconcile::InstanceId&, const reconcile::ShootRequest&,
                                              const std::atomic<bool>& cancelled)>
      shoot;
};

ShootTargets targets_of(reconcile::Service& service);

class ShootRoutes {
 public:
  explicit ShootRoutes(ShootTargets targets) : targets_(std::move(targets)) {}
  void add_routes(Router& router);
  Response handle(const Request& request);

 private:
  ShootTargets targets_;
};

// The request body as a ShootRequest, or one 400-worthy error naming the field.
Result<reconcile::ShootRequest> parse_shoot_request(const std::string& body);

}  // namespace seed::api::shoot
