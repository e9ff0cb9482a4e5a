#include "reconcile/port_claims.hpp"

namespace seed::reconcile {

namespace {

bool via_ingress(const ExposeMeta& e) { return e.protocol == "http" || e.protocol == "grpc"; }

std::vector<PublicPort> ports_of(const ExposeMeta& e) {
  std::vector<PublicPort> out;
  for (const auto& t : e.transports) out.push_back({t, e.port});
  return out;
}

}  // namespace

PortClaims claim_ports(std::map<PublicPort, InstanceId> holders,
                       const std::map<InstanceId, std::map<std::string, ExposeMeta>>& routed) {
  PortClaims out;
  // Ports a routed generation no longer exposes are given up first, so a port moving between
  // two instances of one flake in one push is free for the other.
  for (const auto& [id, exposes] : routed) {
    std::set<PublicPort> wanted;
    for (const auto& [entry, e] : exposes) {
      if (!via_ingress(e)) {
        for (const auto& p : ports_of(e)) wanted.insert(p);
      }
    }
    for (auto it = holders.begin(); it != holders.end();) {
      it = it->second == id && !wanted.count(it->first) ? holders.erase(it) : std::next(it);
    }
  }
  for (const auto& [id, exposes] : routed) {
    for (const auto& [entry, e] : exposes) {
      if (via_ingress(e)) continue;
      const auto ports = ports_of(e);
      // All of the entry or nothing: a dns server needs both transports.
      bool refused = false;
      for (const auto& p : ports) {
        auto h = holders.find(p);
        if (h != holders.end() && h->second != id) {
          out.conflicts.push_back({id, entry, e.protocol, p, h->second});
          refused = true;
          break;
        }
      }
      if (refused) {
        out.refused[id].insert(entry);
        continue;
      }
      for (const auto& p : ports) holders[p] = id;
    }
  }
  out.holders = std::move(holders);
  return out;
}

std::string conflict_message(const PortConflict& c) {
  const std::string holder = c.holder.ns == c.id.ns ? "instance " + c.holder.name + " of this flake"
                                                    : "another tenant's instance";
  return "public port " + c.port.str() + " (seed.expose." + c.entry + ", " + c.protocol + ") is held by " + holder +
         ", so it is not forwarded to " + c.id.name + "; the instance runs without it. A port stays with the instance "
         "that took it first until that instance gives it up: choose another port in seed.expose and push";
}

}  // namespace seed::reconcile
