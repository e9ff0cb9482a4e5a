// Who may use a public port: the instance that claimed it first keeps it until it gives it up.
// Pure (the engine persists `holders` in the state store and applies the result).
//
// A tcp/udp/dns expose of a routed instance claims (transport, port) for each of its
// transports (dns: both). A port nobody holds goes to the claimant (instances visited in id
// order, so equal inputs give equal results); a port held by another instance is refused,
// whatever the namespaces' sort order, and the whole expose with it. An instance gives a port
// up when its routed generation no longer exposes it (here) or when it is removed (the engine
// calls StateStore::release_ports). An instance that is not routed right now (restarting,
// failed, not adopted yet) keeps what it holds. http and grpc exposes share the ingress proxy
// by hostname and claim nothing here.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "reconcile/meta.hpp"
#include "reconcile/plan_types.hpp"
#include "reconcile/state_store.hpp"

namespace seed::reconcile {

struct PortConflict {
  InstanceId id;        // the instance that asked for it
  std::string entry;    // its seed.expose entry
  std::string protocol; // tcp, udp, dns
  PublicPort port;      // the first of the entry's ports someone else holds
  InstanceId holder;
};

struct PortClaims {
  std::map<PublicPort, InstanceId> holders;           // after this round: what to persist
  std::map<InstanceId, std::set<std::string>> refused; // expose entries not forwarded
  std::vector<PortConflict> conflicts;                 // one per refused entry, in id order
};

// `routed`: the expose entries of the generation each routed instance runs.
PortClaims claim_ports(std::map<PublicPort, InstanceId> holders,
                       const std::map<InstanceId, std::map<std::string, ExposeMeta>>& routed);

// One line for the instance's `status` (stage runtime): names the port and the entry, says
// who holds it only when it is an instance of the same namespace (the same tenant's flake);
// another tenant's instance is never named.
std::string conflict_message(const PortConflict& c);

}  // namespace seed::reconcile
