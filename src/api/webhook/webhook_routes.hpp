// `POST /webhook/<hook>` on the public listener: a forge's push to a planted source's default
// branch redeploys it at once. <hook> is the source's opaque webhook id (what `ssh <node>
// webhook <repo>` prints), never its name, so the URL says nothing of who runs what. A request
// that is not signed with that source's secret gets the same 401 whether or not the hook exists.
// Every delivery is counted in seed_webhook_deliveries_total{forge, outcome} (metrics::global()).
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

class WebhookRoutes {
 public:
  explicit WebhookRoutes(WebhookTargets targets) : targets_(std::move(targets)) {}
  void add_routes(Router& router);
  Response handle(const Request& request);

 private:
  WebhookTargets targets_;
  DeliveryLog deliveries_;
};

}  // namespace seed::api::webhook
