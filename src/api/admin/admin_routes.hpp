// The node owner's HTTP surface on the admin listener (loopback by default): `/metrics` for
// Prometheus, a JSON API mirroring `seedctl status|logs|quarantine list --json` for scripts, and
// a status page (HTML + JS served by seedd itself, plots drawn with Chart.js from the node: no
// CDN). Everything here is read-only and goes through reconcile's Service like seedctl does.
#pragma once

#include <string>

#include "api/admin/usage_history.hpp"
#include "api/router.hpp"
#include "common/metrics.hpp"
#include "reconcile/service.hpp"

namespace seed::api::admin {

struct AdminConfig {
  // Chart.js's UMD build. Debian's libjs-chart.js by default; when it is missing the page still
  // shows every table and says that plots need it.
  std::string chart_js = "/usr/share/javascript/chart.js/chart.min.js";
};

class AdminRoutes {
 public:
  AdminRoutes(reconcile::Service& service, const metrics::Registry& metrics, const UsageHistory& usage,
              AdminConfig config = {});
  void add_routes(Router& router);

 private:
  Response asset(const std::string& name) const;
  Response logs(const Request& r);

  reconcile::Service& service_;
  const metrics::Registry& metrics_;
  const UsageHistory& usage_;
  AdminConfig config_;
  std::string chart_js_;  // read once at start ("" when missing)
};

}  // namespace seed::api::admin
