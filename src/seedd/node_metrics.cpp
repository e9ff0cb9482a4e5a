#include "seedd/node_metrics.hpp"

#include <map>

namespace seed::seedd {

using metrics::Sink;
using metrics::Type;

namespace {

// Registers on the real registry and remembers each family's name.
struct Tracking {
  metrics::Registry& registry;
  std::vector<std::string>& names;
  void collector(const std::string& name, const std::string& help, Type type, std::function<void(Sink&)> collect) {
    registry.collector(name, help, type, std::move(collect));
    names.push_back(name);
  }
};

double load(const std::atomic<uint64_t>& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); }

void register_service(Tracking& r, reconcile::Service& service) {
  // One status() per scrape serves both families: families are exposed in name order, so
  // seed_instances (collected first) leaves the source count for seed_sources.
  auto source_count = std::make_shared<size_t>(0);
  r.collector("seed_instances", "Instances by state (as status shows them).", Type::gauge,
              [&service = service, source_count](Sink& s) {
    std::map<std::string, int> by_state;
    for (auto st : {reconcile::InstanceState::pending, reconcile::InstanceState::starting,
                    reconcile::InstanceState::running, reconcile::InstanceState::restarting,
                    reconcile::InstanceState::failed, reconcile::InstanceState::stopped}) {
      by_state[reconcile::to_string(st)] = 0;
    }
    *source_count = 0;
    if (auto sources = service.status(std::nullopt)) {
      *source_count = sources->size();
      for (const auto& src : *sources) {
        for (const auto& i : src.instances) ++by_state[reconcile::to_string(i.state)];
      }
    }
    for (const auto& [state, n] : by_state) s.sample("seed_instances", {{"state", state}}, n);
  });
  r.collector("seed_sources", "Planted sources.", Type::gauge,
              [source_count](Sink& s) { s.sample("seed_sources", {}, static_cast<double>(*source_count)); });
  // One read of /proc per scrape serves both families: the CPU collector caches for the memory one.
  auto usage = std::make_shared<std::vector<reconcile::InstanceUsage>>();
  r.collector("seed_instance_cpu_seconds_total", "CPU time of each instance's VMM process(es).", Type::counter,
              [&service = service, usage](Sink& s) {
                auto u = service.usage();
                *usage = u ? *u : std::vector<reconcile::InstanceUsage>{};
                for (const auto& i : *usage) {
                  s.sample("seed_instance_cpu_seconds_total", {{"instance", i.id.str()}}, i.cpu_seconds);
                }
              });
  r.collector("seed_instance_memory_bytes", "Resident memory of each instance's VMM process(es).", Type::gauge,
              [usage](Sink& s) {
                for (const auto& i : *usage) {
                  s.sample("seed_instance_memory_bytes", {{"instance", i.id.str()}}, static_cast<double>(i.memory_bytes));
                }
              });
  // Volumes come with the same usage() (families are collected in name order: seed_instance_*
  // before seed_volume_*).
  r.collector("seed_volume_used_bytes", "Bytes used on each mounted volume's filesystem.", Type::gauge, [usage](Sink& s) {
    for (const auto& i : *usage) {
      for (const auto& v : i.volumes) {
        s.sample("seed_volume_used_bytes", {{"instance", i.id.str()}, {"volume", v.name}}, static_cast<double>(v.used_bytes));
      }
    }
  });
  r.collector("seed_volume_size_bytes", "Size of each mounted volume's filesystem.", Type::gauge, [usage](Sink& s) {
    for (const auto& i : *usage) {
      for (const auto& v : i.volumes) {
        s.sample("seed_volume_size_bytes", {{"instance", i.id.str()}, {"volume", v.name}}, static_cast<double>(v.size_bytes));
      }
    }
  });
}

void register_dns(Tracking& r, const net::dns::Server& dns) {
  r.collector("seed_dns_queries_total", "DNS queries received, by transport.", Type::counter, [&dns = dns](Sink& s) {
    s.sample("seed_dns_queries_total", {{"transport", "udp"}}, load(dns.stats().udp_queries));
    s.sample("seed_dns_queries_total", {{"transport", "tcp"}}, load(dns.stats().tcp_queries));
  });
  r.collector("seed_dns_responses_total", "DNS queries by how they were answered.", Type::counter, [&dns = dns](Sink& s) {
    const auto& st = dns.stats();
    s.sample("seed_dns_responses_total", {{"outcome", "answered"}}, load(st.answered));
    s.sample("seed_dns_responses_total", {{"outcome", "formerr"}}, load(st.formerr));
    s.sample("seed_dns_responses_total", {{"outcome", "rate_limited"}}, load(st.rate_limited));
    s.sample("seed_dns_responses_total", {{"outcome", "forwarded"}}, load(st.forwarded));
    s.sample("seed_dns_responses_total", {{"outcome", "upstream_failure"}}, load(st.upstream_failures));
  });
  r.collector("seed_dns_tcp_connections_total", "DNS TCP connections, by outcome.", Type::counter, [&dns = dns](Sink& s) {
    const auto& st = dns.stats();
    s.sample("seed_dns_tcp_connections_total", {{"outcome", "accepted"}}, load(st.tcp_accepted));
    s.sample("seed_dns_tcp_connections_total", {{"outcome", "rejected"}}, load(st.tcp_rejected));
    s.sample("seed_dns_tcp_connections_total", {{"outcome", "timed_out"}}, load(st.tcp_timed_out));
  });
}

// The shoot pool (docs/shoots.md), as `seedctl shoots` shows it: declared on every node, with
// samples only where shoots are on. Each family reads the pool's view (a copy of its counters).
void register_shoot_pool(Tracking& r, reconcile::Service& service) {
  auto view = [&service] {
    auto v = service.shoot_pool();
    return v ? *v : reconcile::ShootPoolView{};
  };
  r.collector("seed_shoot_vms", "Shoot clones per size tier: ready in the pool, restoring, running a shoot.",
              Type::gauge, [view](Sink& s) {
    for (const auto& t : view().tiers) {
      s.sample("seed_shoot_vms", {{"tier", t.name}, {"state", "ready"}}, t.ready);
      s.sample("seed_shoot_vms", {{"tier", t.name}, {"state", "restoring"}}, t.restoring);
      s.sample("seed_shoot_vms", {{"tier", t.name}, {"state", "running"}}, t.running);
    }
  });
  r.collector("seed_shoot_memory_bytes", "Memory of all shoot clones, counted against shoot.max_memory_mib.",
              Type::gauge, [view](Sink& s) {
    auto v = view();
    if (v.enabled) s.sample("seed_shoot_memory_bytes", {}, static_cast<double>(v.memory_mib) * 1024 * 1024);
  });
  r.collector("seed_shoot_queued", "Shoot requests waiting at the admission gate.", Type::gauge, [view](Sink& s) {
    auto v = view();
    if (v.enabled) s.sample("seed_shoot_queued", {}, v.queued);
  });
  struct Count {
    const char* name;
    const char* help;
    uint64_t reconcile::ShootTierView::*field;
  };
  for (Count c : {Count{"seed_shoot_restores_total", "Clones restored from a tier's template.",
                        &reconcile::ShootTierView::restores},
                  Count{"seed_shoot_served_total", "Clones handed out to shoots.", &reconcile::ShootTierView::served},
                  Count{"seed_shoot_waits_total", "Shoot requests that waited at the caps for a restore in flight.",
                        &reconcile::ShootTierView::waits}}) {
    r.collector(c.name, c.help, Type::counter, [view, c](Sink& s) {
      for (const auto& t : view().tiers) s.sample(c.name, {{"tier", t.name}}, static_cast<double>(t.*c.field));
    });
  }
}

void register_ingress(Tracking& r, const net::ingress::Server& ingress) {
  r.collector("seed_ingress_connections_total", "Ingress connections, by outcome.", Type::counter, [&ingress = ingress](Sink& s) {
    const auto st = ingress.stats();
    s.sample("seed_ingress_connections_total", {{"outcome", "accepted"}}, static_cast<double>(st.accepted));
    s.sample("seed_ingress_connections_total", {{"outcome", "refused_limit"}}, static_cast<double>(st.refused_limit));
    s.sample("seed_ingress_connections_total", {{"outcome", "routed"}}, static_cast<double>(st.routed));
    s.sample("seed_ingress_connections_total", {{"outcome", "unknown_name"}}, static_cast<double>(st.unknown_name));
    s.sample("seed_ingress_connections_total", {{"outcome", "bad_request"}}, static_cast<double>(st.bad_request));
    s.sample("seed_ingress_connections_total", {{"outcome", "timed_out"}}, static_cast<double>(st.timed_out));
    s.sample("seed_ingress_connections_total", {{"outcome", "backend_failed"}}, static_cast<double>(st.backend_failed));
  });
  // One series per route ever forwarded (public port and hostname), never per name a client
  // merely asked for: the ingress only counts routes it connected to a backend.
  r.collector("seed_ingress_bytes_total", "Bytes forwarded by the ingress per route, by direction (in: from clients, out: to clients).", Type::counter, [&ingress = ingress](Sink& s) {
    for (const auto& route : ingress.route_bytes()) {
      const std::string port = std::to_string(route.port);
      s.sample("seed_ingress_bytes_total", {{"host", route.host}, {"port", port}, {"direction", "in"}}, static_cast<double>(route.from_clients));
      s.sample("seed_ingress_bytes_total", {{"host", route.host}, {"port", port}, {"direction", "out"}}, static_cast<double>(route.to_clients));
    }
  });
  r.collector("seed_ingress_open_connections", "Ingress connections open now.", Type::gauge, [&ingress = ingress](Sink& s) {
    s.sample("seed_ingress_open_connections", {}, static_cast<double>(ingress.stats().open));
  });
}

void register_http(Tracking& r, const api::HttpServer& http) {
  r.collector("seed_http_requests_total", "HTTP API requests, by outcome.", Type::counter, [&http = http](Sink& s) {
    const auto& st = http.stats();
    s.sample("seed_http_requests_total", {{"outcome", "handled"}}, load(st.requests));
    s.sample("seed_http_requests_total", {{"outcome", "rate_limited"}}, load(st.rate_limited));
    s.sample("seed_http_requests_total", {{"outcome", "too_large"}}, load(st.too_large));
    s.sample("seed_http_requests_total", {{"outcome", "handler_error"}}, load(st.handler_errors));
    s.sample("seed_http_requests_total", {{"outcome", "deadline_cut"}}, load(st.deadline_cuts));
  });
}

}  // namespace

NodeMetrics::NodeMetrics(metrics::Registry& registry, const MetricSources& sources) : registry_(registry) {
  // Names this object registers, so the destructor removes exactly them.
  Tracking r{registry, families_};
  if (sources.service) {
    register_service(r, *sources.service);
    register_shoot_pool(r, *sources.service);
  }
  if (sources.dns) register_dns(r, *sources.dns);
  if (sources.ingress) register_ingress(r, *sources.ingress);
  if (sources.http) register_http(r, *sources.http);
}

NodeMetrics::~NodeMetrics() {
  for (const auto& name : families_) registry_.remove(name);
}

}  // namespace seed::seedd
