// The composition root of `seedd run`: builds the node's drivers, DNS server, ingress proxy
// and reconcile engine from the config, in dependency order, and tears them down in reverse.
// VMs outlive it: stopping the node leaves every instance running for the next seedd.
#pragma once

#include <memory>

#include "common/audit_log.hpp"
#include "common/error.hpp"
#include "control/control_server.hpp"
#include "net/dns/server.hpp"
#include "net/dns/zone_store.hpp"
#include "net/ingress/server.hpp"
#include "reconcile/engine.hpp"
#include "seedd/api_wiring.hpp"
#include "seedd/config.hpp"
#include "sshcli/server.hpp"

namespace seed {

struct Node {
  std::unique_ptr<net::dns::ZoneStore> zone;
  std::unique_ptr<net::dns::Server> dns;
  std::unique_ptr<net::ingress::Server> ingress;
  std::unique_ptr<reconcile::Engine> engine;
  std::unique_ptr<AuditLog> audit;                  // exec and console sessions (before its users)
  std::unique_ptr<control::ControlServer> control;  // seedctl's socket, on the engine
  std::unique_ptr<sshcli::Server> ssh;              // tenants' SSH commands and Silo
  std::unique_ptr<Api> api;                         // the HTTP API (guest and admin listeners)
  ~Node();
};

// Everything started (the engine's threads included); Errc with stage "start" naming the part
// that failed, with nothing left running from this call.
Result<std::unique_ptr<Node>> start_node(const Config& config);

}  // namespace seed
