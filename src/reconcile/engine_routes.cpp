// Routes follow the routed slot of every instance on the node: DNS names
// (<name>.<ns>.<domain> → its address), ingress (http/grpc exposes by hostname on the
// http/https ports) and the firewall (tcp/udp/dns exposes as port forwards, and every running
// slot's anti-spoofing entry). All three are replaced as a whole, so a change is atomic per
// component. A public port is forwarded only to the instance holding it (port_claims.hpp); an
// instance refused one runs without it and `status` says so (stage runtime). seedd's own names
// (EngineConfig::node_routes, node_tls_routes: silo.<domain>, hooks.<domain>) go to its public
// HTTP listener and its TLS side.
#include "common/log.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/clock.hpp"
#include "reconcile/guest_setup.hpp"
#include "reconcile/port_claims.hpp"
#include "reconcile/slot_names.hpp"

namespace seed::reconcile {

Status Engine::publish_routes() {
  std::vector<net::dns::InstanceAddress> dns;
  net::ingress::DesiredRoutes ingress;
  struct FirewallEntry {
    net::InstanceId id;
    std::vector<net::Expose> exposes;
  };
  std::vector<FirewallEntry> firewall;
  std::map<PublicPort, InstanceId> held;
  {
    std::lock_guard db(store_mu_);
    held = SEED_TRY(store_->port_holders());
  }
  PortClaims claims;
  {
    std::lock_guard lock(state_mu_);
    // Public ports go to whoever holds them (port_claims.hpp), never by namespace order.
    std::map<InstanceId, std::map<std::string, ExposeMeta>> routed;
    for (const auto& [id, live] : live_) {
      for (const auto& s : live.slots) {
        if (s.routed) routed[id] = s.meta.expose;
      }
    }
    claims = claim_ports(held, routed);
    // seedd's own names are one label under the domain; instances' are two, so never the same.
    for (const auto& [host, backend] : config_.node_routes) ingress.ports[config_.http_port][host] = backend;
    for (const auto& [host, backend] : config_.node_tls_routes) ingress.ports[config_.https_port][host] = backend;
    for (auto& [id, live] : live_) live.port_conflict.reset();
    for (const auto& c : claims.conflicts) {
      log::warn("port.conflict", {{"instance", c.id.str()}, {"port", c.port.str()}, {"holder", c.holder.str()}});
      auto& f = live_[c.id].port_conflict;
      if (!f) f = Failure{"runtime", conflict_message(c), unix_now()};
      else f->message += "\n" + conflict_message(c);
    }
    for (const auto& [id, live] : live_) {
      const auto refused = claims.refused.find(id);
      for (const auto& s : live.slots) {
        FirewallEntry fw{slot_net_id(id, s.letter), {}};
        if (s.routed) {
          dns.push_back({id.ns, id.name, s.ipv4, s.ipv6});
          const std::string host = instance_fqdn(id, config_.domain);
          for (const auto& [entry, e] : s.meta.expose) {
            if (e.protocol == "http" || e.protocol == "grpc") {
              ingress.ports[config_.http_port][host] = {s.ipv4, e.port};
              if (e.port == 443) ingress.ports[config_.https_port][host] = {s.ipv4, e.port};
              continue;
            }
            if (refused != claims.refused.end() && refused->second.count(entry)) continue;
            const auto proto = e.protocol == "udp"   ? net::ExposeProtocol::udp
                               : e.protocol == "dns" ? net::ExposeProtocol::dns
                                                     : net::ExposeProtocol::tcp;
            fw.exposes.push_back({e.port, proto, e.port});
          }
        }
        if (s.vm) firewall.push_back(std::move(fw));
      }
    }
  }
  // Who holds what is on disk before any port is forwarded, so a restarted seedd gives each
  // port to the same instance.
  Status saved;
  {
    std::lock_guard db(store_mu_);
    for (const auto& [port, holder] : held) {
      auto now = claims.holders.find(port);
      if (now == claims.holders.end() || now->second != holder) {
        if (auto s = store_->release_port(port); !s && saved) saved = s;
      }
    }
    for (const auto& [port, holder] : claims.holders) {
      auto before = held.find(port);
      if (before != held.end() && before->second == holder) continue;
      log::info("port.held", {{"instance", holder.str()}, {"port", port.str()}});
      if (auto s = store_->hold_port(port, holder, unix_now()); !s && saved) saved = s;
    }
  }
  Status first = saved;
  if (parts_.zone != nullptr) {
    if (auto s = parts_.zone->replace(dns); !s && first) first = s;
  }
  if (parts_.ingress != nullptr) {
    if (auto s = parts_.ingress->set_routes(ingress); !s && first) first = s;
  }
  std::vector<net::FirewallInstance> rules;
  for (auto& fw : firewall) {
    auto r = parts_.network->firewall_instance(fw.id, std::move(fw.exposes));
    if (r) rules.push_back(std::move(*r));
    else log::warn("firewall.instance.skipped", {{"instance", fw.id.str()}, {"error", r.error().describe()}});
  }
  auto conflicts = parts_.network->apply_firewall(std::move(rules));
  if (!conflicts) {
    if (first) first = std::move(conflicts).error().with("stage", "route");
  } else {
    for (const auto& c : *conflicts) log::warn("firewall.conflict", {{"error", c.describe()}});
  }
  return first;
}

}  // namespace seed::reconcile
