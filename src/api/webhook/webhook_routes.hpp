// `POST /webhook/<hook>` on the public listener: a forge's push to a planted source's default
// branch redeploys it at once. <hook> is the source's opaque webhook id (what `ssh <node>
// webhook <repo>` prints), never its name, so the URL says nothing of who runs what. A request
// that is not signed with that source's secret gets the same 401 whether or not the hook exists.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "api/router.hpp"
#include "api/webhook/delivery_log.hpp"
#include "common/error.hpp"

namespace seed::api::webhook {

struct WebhookTargets {
  // The hook's secret; nullopt for a hook that does not exist.
  std::function<std::optional<std::string>(const std::string& hook)> secret;
  // Redeploys the hook's source; `reason` says why ("webhook github push main <delivery>").
  std::function<Status(const std::string& hook, const std::string& reason)> trigger;
};

struct WebhookStats {
  std::function<void(const std::string& forge, const std::string& outcome)> delivered = [](auto&, auto&) {};
};

class WebhookRoutes {
 public:
  WebhookRoutes(WebhookTargets targets, WebhookStats stats = {}) : targets_(std::move(targets)), stats_(std::move(stats)) {}
  void add_routes(Router& router);
  Response handle(const Request& request);

 private:
  WebhookTargets targets_;
  WebhookStats stats_;
  DeliveryLog deliveries_;
};

}  // namespace seed::api::webhook
