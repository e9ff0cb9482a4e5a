// Routes follow the routed slot of every instance on the node: DNS names
// (<name>.<ns>.<domain> → its address), ingress (http/grpc exposes by hostname on the
// http/https ports) and the firewall (tcp/udp/dns exposes as port forwards, and every running
// slot's anti-spoofing entry). All three are replaced as a whole, so a change is atomic per
// component.
#include "common/log.hpp"
#include "reconcile/engine.hpp"
#include "reconcile/guest_setup.hpp"
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
  {
    std::lock_guard lock(state_mu_);
    for (const auto& [id, live] : live_) {
      for (const auto& s : live.slots) {
        FirewallEntry fw{slot_net_id(id, s.letter), {}};
        if (s.routed) {
          dns.push_back({id.ns, id.name, s.ipv4, s.ipv6});
          const std::string host = instance_fqdn(id, config_.domain);
          // Map order is by entry name, so port ownership does not depend on nix's output order.
          for (const auto& [entry, e] : s.meta.expose) {
            if (e.protocol == "http" || e.protocol == "grpc") {
              ingress.ports[config_.http_port][host] = {s.ipv4, e.port};
              if (e.port == 443) ingress.ports[config_.https_port][host] = {s.ipv4, e.port};
              continue;
            }
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
  Status first;
  if (parts_.zone != nullptr) {
    if (auto s = parts_.zone->replace(dns); !s) first = s;
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
