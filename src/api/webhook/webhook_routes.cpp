#include "api/webhook/webhook_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/webhook/delivery.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace seed::api::webhook {

namespace {

Response status_reply(int code, const std::string& status, const std::string& detail = {}) {
  nlohmann::json j{{"status", status}};
  if (!detail.empty()) j["detail"] = detail;
  Response r;
  r.status = code;
  r.body = j.dump() + "\n";
  return r;
}

const char* kProblem = "about:blank";

// outcome: triggered, duplicate, ping, ignored, unauthenticated, malformed, failed.
void delivered(const std::string& forge, const std::string& outcome) {
  metrics::global()
      .counter("seed_webhook_deliveries_total", "Webhook deliveries by forge and what was done with them",
               {{"forge", forge}, {"outcome", outcome}})
      .inc();
}

}  // namespace

void WebhookRoutes::add_routes(Router& router) {
  router.add("POST", "/webhook/*", [this](const Request& r) { return handle(r); });
}

Response WebhookRoutes::handle(const Request& r) {
  const std::string& hook = r.params.at(0);
  auto delivery = identify(r);
  if (!delivery) {
    delivered("unknown", "malformed");
    return problem(400, kProblem,
                   "not a webhook delivery: no X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header; "
                   "point a GitHub, Forgejo/Gitea or GitLab webhook at this URL");
  }
  const std::string forge = forge_name(delivery->forge);
  // An unknown hook is checked against a secret nobody has, so it answers exactly like a wrong
  // signature, in about the same time.
  const std::optional<std::string> secret = targets_.secret(hook);
  if (!authentic(*delivery, r, secret.value_or(std::string(32, '\x01')))) {
    log::warn("webhook.refused", {{"forge", forge}, {"source_address", r.source}, {"delivery", delivery->id}});
    delivered(forge, "unauthenticated");
    return problem(401, kProblem,
                   "the delivery's signature does not match this webhook's secret; set the webhook's secret in the "
                   "forge's webhook settings to the one this node gave for the source");
  }
  if (!deliveries_.first_time(hook, delivery->id)) {
    delivered(forge, "duplicate");
    return status_reply(200, "duplicate", "delivery " + delivery->id + " was already handled");
  }
  if (delivery->event == "ping") {
    delivered(forge, "ping");
    return status_reply(200, "pong");
  }
  if (delivery->event != "push") {
    delivered(forge, "ignored");
    return status_reply(200, "ignored", "only push events redeploy; this was " + delivery->event);
  }
  auto push = parse_push(*delivery, r.body);
  if (!push) {
    delivered(forge, "malformed");
    return problem(400, kProblem, "the push event's body is not JSON with a `ref`; send the payload as application/json");
  }
  if (push->branch.empty() || (!push->default_branch.empty() && push->branch != push->default_branch)) {
    delivered(forge, "ignored");
    return status_reply(200, "ignored",
                        "only pushes to the default branch" +
                            (push->default_branch.empty() ? std::string() : " (" + push->default_branch + ")") +
                            " redeploy");
  }
  const std::string reason = "webhook " + forge + " push " + push->branch + (delivery->id.empty() ? "" : " " + delivery->id);
  if (Status s = targets_.trigger(hook, reason); !s) {
    delivered(forge, "failed");
    log::warn("webhook.trigger_failed", {{"forge", forge}, {"error", s.error().message}});
    return problem(503, kProblem, "the redeploy could not be started; the forge may retry the delivery");
  }
  log::info("webhook.triggered", {{"forge", forge}, {"delivery", delivery->id}, {"branch", push->branch}});
  delivered(forge, "triggered");
  return status_reply(202, "triggered");
}

}  // namespace seed::api::webhook
