// The node's metrics that live in its parts' own counters or views: registered as scrape-time
// collectors on the registry /metrics exposes, so nothing on a hot path changes (the DNS and
// ingress loops keep their atomics; the engine's views are read when Prometheus asks).
// Counters that only a module can see (deploys, VM exits, SSH commands) it registers itself
// on metrics::global().
#pragma once

#include <string>
#include <vector>

#include "api/http_server.hpp"
#include "common/metrics.hpp"
#include "net/dns/server.hpp"
#include "net/ingress/server.hpp"
#include "reconcile/service.hpp"

namespace seed::seedd {

struct MetricSources {
  reconcile::Service* service = nullptr;
  const net::dns::Server* dns = nullptr;
  const net::ingress::Server* ingress = nullptr;
  const api::HttpServer* http = nullptr;
};

// The collectors of every source given, registered for as long as this object lives: destroy
// it before the sources (the collectors read them at each scrape).
class NodeMetrics {
 public:
  NodeMetrics(metrics::Registry& registry, const MetricSources& sources);
  ~NodeMetrics();
  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;

 private:
  metrics::Registry& registry_;
  std::vector<std::string> families_;
};

}  // namespace seed::seedd
